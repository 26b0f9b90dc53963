"""The paced queue on a fake clock: overall rate, per-chat interval, group minute budget,
pauses after a 429, and handing back what a stop left unsent."""

from __future__ import annotations

import asyncio

from bot.digest.sender import GROUP_PER_MINUTE, Job, PacedQueue, Step, StepResult


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def feeder(jobs: list[Job]):  # noqa: ANN201
    batches = [jobs]

    async def feed() -> list[Job]:
        return batches.pop() if batches else []

    return feed


async def run(queue: PacedQueue, jobs: list[Job], handle=None, **options):  # noqa: ANN001, ANN201
    sent: list[tuple[float, int, int]] = []

    async def default(job: Job) -> StepResult:
        sent.append((queue.clock(), job.key, job.chat_id))
        return StepResult(Step.DONE)

    leftovers = await queue.run(handle or default, feeder(jobs), **options)
    return sent, leftovers


def make(clock: FakeClock, **options) -> PacedQueue:  # noqa: ANN003
    return PacedQueue(clock=clock, sleep=clock.sleep, keep_times=True, **options)


async def test_overall_rate_without_burst() -> None:
    clock = FakeClock()
    queue = make(clock, rate=25, per_chat_interval=1.0, max_in_flight=1)
    sent, _ = await run(queue, [Job(i, chat_id=i) for i in range(50)])
    times = [t for t, _, _ in sent]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(sent) == 50 and min(gaps) >= 1 / 25 - 1e-9
    assert abs(queue.stats.rate - 25) < 0.01


async def test_one_chat_gets_one_message_per_interval_others_fill_in() -> None:
    clock = FakeClock()
    queue = make(clock, rate=100, per_chat_interval=1.0)
    jobs = [Job(i, chat_id=7) for i in range(3)] + [Job(10 + i, chat_id=100 + i) for i in range(5)]
    sent, _ = await run(queue, jobs)
    to_seven = [t for t, _, chat in sent if chat == 7]
    assert [round(b - a, 6) for a, b in zip(to_seven, to_seven[1:], strict=False)] == [1.0, 1.0]
    others = [t for t, _, chat in sent if chat != 7]
    assert max(others) - min(others) < 0.1  # not held up behind chat 7


async def test_groups_get_at_most_twenty_a_minute() -> None:
    clock = FakeClock()
    queue = make(clock, rate=30, per_chat_interval=1.0)
    sent, _ = await run(queue, [Job(i, chat_id=-100) for i in range(25)])
    times = [t for t, _, _ in sent]
    assert times[GROUP_PER_MINUTE] - times[0] >= 60.0
    assert all(
        sum(1 for t in times if start <= t < start + 60) <= GROUP_PER_MINUTE for start in times
    )


async def test_a_pause_holds_the_whole_queue() -> None:
    clock = FakeClock()
    queue = make(clock, rate=50, per_chat_interval=0.0, max_in_flight=1)
    sent: list[tuple[float, int]] = []
    limited = {"once": True}

    async def handle(job: Job) -> StepResult:
        if job.key == 3 and limited["once"]:
            limited["once"] = False
            return StepResult(Step.AGAIN, pause=5.0)
        sent.append((clock(), job.key))
        return StepResult(Step.DONE)

    await queue.run(handle, feeder([Job(i, chat_id=i) for i in range(8)]))
    refused_at = next(t for t, key in sent if key == 2) + 1 / 50
    after = [t for t, key in sent if t > refused_at]
    assert sorted(key for _, key in sent) == list(range(8))
    assert min(after) >= refused_at + 5.0 - 1e-9
    assert queue.stats.pauses == 1


async def test_a_stop_hands_back_what_was_not_started() -> None:
    clock = FakeClock()
    queue = make(clock, rate=10, per_chat_interval=0.0, max_in_flight=1)
    start = clock()
    sent, leftovers = await run(
        queue, [Job(i, chat_id=i) for i in range(30)], stop=lambda: clock() - start >= 1.0
    )
    assert 9 <= len(sent) <= 11
    assert sorted([key for _, key, _ in sent] + [job.key for job in leftovers]) == list(range(30))
