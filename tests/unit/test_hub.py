"""The hub delivers each push to the right browsers and never lets a stalled
browser hold up anyone else."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from callcenter.web.hub import Hub, SlowConsumer, Subscription


async def take_all(subscription: Subscription) -> list[dict[str, object]]:
    messages = []
    while subscription.pending():
        messages.append(json.loads(await subscription.next()))
    return messages


async def test_a_push_reaches_only_the_addressed_agent() -> None:
    hub = Hub()
    with hub.agent_subscription(7) as alice, hub.agent_subscription(8) as bob:
        hub.to_agent(7, {"type": "pop", "call_id": "c1"})

        assert await take_all(alice) == [{"type": "pop", "call_id": "c1"}]
        assert await take_all(bob) == []


async def test_every_open_page_of_the_agent_gets_the_push() -> None:
    hub = Hub()
    with hub.agent_subscription(7) as desk_pc, hub.agent_subscription(7) as laptop:
        hub.to_agent(7, {"type": "call", "status": "ringing"})

        assert await take_all(desk_pc) == [{"type": "call", "status": "ringing"}]
        assert await take_all(laptop) == [{"type": "call", "status": "ringing"}]


async def test_wallboard_pushes_do_not_reach_agents() -> None:
    hub = Hub()
    with hub.agent_subscription(7) as agent, hub.wallboard_subscription() as board:
        hub.to_wallboards({"type": "wallboard", "waiting": []})

        assert await take_all(board) == [{"type": "wallboard", "waiting": []}]
        assert await take_all(agent) == []


async def test_a_closed_page_no_longer_receives_pushes() -> None:
    hub = Hub()
    with hub.agent_subscription(7) as page:
        pass
    hub.to_agent(7, {"type": "pop"})

    assert await take_all(page) == []


async def test_a_browser_that_never_reads_is_cut_off_without_delaying_others() -> None:
    hub = Hub(queue_size=5)
    with hub.agent_subscription(7) as stalled, hub.agent_subscription(8) as reader:
        received: list[object] = []
        for n in range(50):
            hub.to_agent(7, {"type": "call", "n": n})
            hub.to_agent(8, {"type": "call", "n": n})
            received.extend(m["n"] for m in await take_all(reader))

        # The reader got every message, in order, while the other never read.
        assert received == list(range(50))
        # The stalled page is disconnected (not fed a stream with holes): its
        # queue is emptied and its next read tells its socket to close.
        assert stalled.lagging
        assert stalled.pending() == 0
        with pytest.raises(SlowConsumer):
            await stalled.next()


async def test_a_waiting_reader_wakes_up_on_a_push() -> None:
    hub = Hub()
    with hub.agent_subscription(7) as page:
        reading = asyncio.create_task(page.next())
        await asyncio.sleep(0)
        hub.to_agent(7, {"type": "pop_withdrawn", "call_id": "c1"})

        assert json.loads(await asyncio.wait_for(reading, 5)) == {
            "type": "pop_withdrawn",
            "call_id": "c1",
        }


async def test_a_push_from_another_thread_is_delivered_on_the_pages_loop() -> None:
    hub = Hub()
    with hub.agent_subscription(7) as page:
        reading = asyncio.create_task(page.next())
        pusher = threading.Thread(target=hub.to_agent, args=(7, {"type": "pop"}))
        pusher.start()
        pusher.join()

        assert json.loads(await asyncio.wait_for(reading, 5)) == {"type": "pop"}


async def test_a_push_that_is_not_json_is_dropped_and_the_next_one_arrives() -> None:
    hub = Hub()
    with hub.agent_subscription(7) as page:
        hub.to_agent(7, {"type": "pop", "pop": object()})
        hub.to_agent(7, {"type": "pop", "pop": {"caller_number": "+15550100"}})

        assert await take_all(page) == [{"type": "pop", "pop": {"caller_number": "+15550100"}}]


async def test_later_changes_to_a_pushed_dict_do_not_change_what_is_sent() -> None:
    hub = Hub()
    with hub.agent_subscription(7) as page:
        message: dict[str, object] = {"type": "call", "status": "ringing"}
        hub.to_agent(7, message)
        message["status"] = "ended"

        assert await take_all(page) == [{"type": "call", "status": "ringing"}]
