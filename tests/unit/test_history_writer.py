"""The call-history writer: in order, off the routing path, and nothing lost when
the database hiccups."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError
from tenacity import wait_none

from callcenter.orchestration.writer import OrderedWriter, Write, is_transient


def database_down() -> OperationalError:
    return OperationalError("INSERT INTO call_records ...", {}, ConnectionRefusedError())


def duplicate_key() -> IntegrityError:
    return IntegrityError("INSERT INTO call_records ...", {}, ValueError("duplicate key"))


async def test_a_write_failing_while_the_database_is_down_lands_once_it_is_back() -> None:
    written: list[str] = []
    failures = iter([database_down(), database_down(), TimeoutError()])

    async def flaky() -> None:
        error = next(failures, None)
        if error is not None:
            raise error
        written.append("answered")

    async def later() -> None:
        written.append("ended")

    writer = OrderedWriter(wait=wait_none())
    writer.start()
    writer.submit("call answered", flaky)
    writer.submit("call ended", later)
    await asyncio.wait_for(writer.flush(), 5)
    await writer.stop()
    # retried until written, and the step behind it waited: order holds
    assert written == ["answered", "ended"]


async def test_a_write_the_database_refuses_for_good_is_skipped_not_retried() -> None:
    attempts: list[str] = []

    async def refused() -> None:
        attempts.append("refused")
        raise duplicate_key()

    async def fine() -> None:
        attempts.append("fine")

    writer = OrderedWriter(wait=wait_none())
    writer.start()
    writer.submit("offer made", refused)
    writer.submit("offer result", fine)
    await asyncio.wait_for(writer.flush(), 5)
    await writer.stop()
    assert attempts == ["refused", "fine"]


async def test_nothing_is_dropped_however_far_the_writes_fall_behind() -> None:
    written: list[int] = []
    gate = asyncio.Event()

    async def blocked() -> None:
        await gate.wait()

    def step(n: int) -> Write:
        async def write() -> None:
            written.append(n)

        return write

    writer = OrderedWriter(wait=wait_none(), backlog_warning=1_000)
    writer.start()
    writer.submit("slow database", blocked)
    for n in range(150_000):  # more than the old bound of 100,000
        writer.submit("step", step(n))
    assert writer.pending >= 150_000
    gate.set()
    await asyncio.wait_for(writer.flush(), 60)
    await writer.stop()
    assert written == list(range(150_000))


async def test_stopping_while_the_database_stays_down_gives_up_after_the_timeout() -> None:
    async def never() -> None:
        raise database_down()

    writer = OrderedWriter(wait=wait_none())
    writer.start()
    writer.submit("call ended", never)
    await asyncio.wait_for(writer.stop(timeout_s=0.2), 5)
    assert writer.pending >= 1


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (database_down(), True),
        (ConnectionResetError(), True),
        (TimeoutError(), True),
        (duplicate_key(), False),
        (ValueError("bad value"), False),
    ],
)
def test_only_connection_trouble_counts_as_transient(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient


class _Transactions:
    """A stand-in for ``CallRecords.batch``: what each transaction held, and
    which of them were rolled back."""

    def __init__(self) -> None:
        self.open: list[str] | None = None
        self.committed: list[list[str]] = []
        self.rolled_back: list[list[str]] = []

    @contextlib.asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        self.open = []
        try:
            yield
        except BaseException:
            self.rolled_back.append(self.open)
            raise
        else:
            self.committed.append(self.open)
        finally:
            self.open = None

    def step(self, name: str, error: BaseException | None = None) -> Write:
        async def write() -> None:
            if error is not None:
                raise error
            if self.open is not None:
                self.open.append(name)
            else:
                self.committed.append([name])

        return write


async def test_steps_queued_while_the_writer_was_busy_go_in_one_transaction_in_order() -> None:
    transactions = _Transactions()
    writer = OrderedWriter(wait=wait_none(), batch=transactions.batch)
    # all queued before the worker runs: it finds them together
    for n in range(5):
        writer.submit(f"step {n}", transactions.step(f"step {n}"))
    writer.start()
    await asyncio.wait_for(writer.flush(), 5)
    await writer.stop()
    assert transactions.committed == [[f"step {n}" for n in range(5)]]
    assert writer.pending == 0


async def test_a_refused_step_in_a_batch_costs_only_itself() -> None:
    transactions = _Transactions()
    writer = OrderedWriter(wait=wait_none(), batch=transactions.batch)
    writer.submit("enqueued", transactions.step("enqueued"))
    writer.submit("offer made", transactions.step("offer made", duplicate_key()))
    writer.submit("ended", transactions.step("ended"))
    writer.start()
    await asyncio.wait_for(writer.flush(), 5)
    await writer.stop()
    # the batch was rolled back whole, then each step went alone
    assert transactions.rolled_back == [["enqueued"]]
    assert transactions.committed == [["enqueued"], ["ended"]]


async def test_a_batch_that_meets_the_database_down_is_written_whole_once_it_is_back() -> None:
    transactions = _Transactions()
    failures = iter([database_down(), database_down()])

    async def flaky() -> None:
        error = next(failures, None)
        if error is not None:
            raise error
        await transactions.step("answered")()

    writer = OrderedWriter(wait=wait_none(), batch=transactions.batch)
    writer.submit("enqueued", transactions.step("enqueued"))
    writer.submit("answered", flaky)
    writer.start()
    await asyncio.wait_for(writer.flush(), 5)
    await writer.stop()
    assert transactions.committed == [["enqueued", "answered"]]
    assert len(transactions.rolled_back) == 2


async def test_a_waited_for_step_says_whether_it_was_written_in_a_batch_or_alone() -> None:
    transactions = _Transactions()
    writer = OrderedWriter(wait=wait_none(), batch=transactions.batch)
    enqueued = writer.submit_first("enqueued", transactions.step("enqueued"))
    refused = writer.submit_first("offer made", transactions.step("offer made", duplicate_key()))
    writer.start()
    assert await asyncio.wait_for(enqueued, 5) is True
    assert await asyncio.wait_for(refused, 5) is False
    alone = writer.submit_first("ended", transactions.step("ended"))
    assert await asyncio.wait_for(alone, 5) is True
    await writer.stop()
    assert transactions.committed == [["enqueued"], ["ended"]]


async def test_a_waited_for_step_is_not_over_while_the_database_is_down() -> None:
    failures = iter([database_down(), database_down()])
    back = asyncio.Event()

    async def flaky() -> None:
        error = next(failures, None)
        if error is not None:
            raise error
        await back.wait()

    writer = OrderedWriter(wait=wait_none())
    writer.start()
    written = writer.submit_first("enqueued", flaky)
    await asyncio.sleep(0.05)
    assert not written.done()
    back.set()
    assert await asyncio.wait_for(written, 5) is True
    await writer.stop()


async def test_a_calls_first_step_goes_in_ahead_of_the_backlog() -> None:
    transactions = _Transactions()
    writer = OrderedWriter(wait=wait_none(), batch=transactions.batch, max_batch=2)
    for n in range(4):
        writer.submit(f"step {n}", transactions.step(f"step {n}"))
    first = writer.submit_first("enqueued", transactions.step("enqueued"))
    writer.start()
    assert await asyncio.wait_for(first, 5) is True
    await asyncio.wait_for(writer.flush(), 5)
    await writer.stop()
    assert transactions.committed[0][0] == "enqueued"
    # written once, and everything else in order
    assert [s for t in transactions.committed for s in t] == ["enqueued"] + [
        f"step {n}" for n in range(4)
    ]
    assert writer.pending == 0
