"""What a supervisor scoped to some queues may see of the live call center.

Callers waiting in other queues are left out, and an agent busy on another
queue's call is shown with their state but without the call (whose number and
customer belong to someone else's team). Users who see every queue (admins, and
supervisors with no queue assigned) get the board as it is.
"""

from __future__ import annotations

import dataclasses

from callcenter.ports import AgentView, Principal, Wallboard


def scoped_wallboard(board: Wallboard, principal: Principal) -> Wallboard:
    if principal.sees_queue(None):
        return board
    return dataclasses.replace(
        board,
        waiting=[call for call in board.waiting if principal.sees_queue(call.queue)],
        agents=[_scoped_agent(agent, principal) for agent in board.agents],
        queues=[stats for stats in board.queues if principal.sees_queue(stats.name)],
    )


def _scoped_agent(agent: AgentView, principal: Principal) -> AgentView:
    if agent.call_id is None or principal.sees_queue(agent.queue):
        return agent
    return dataclasses.replace(agent, call_id=None, queue=None)
