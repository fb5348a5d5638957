"""The faults, one kind at a time: each is injected while lifecycles run and healed afterwards.

The suite stands in for ``make run``'s supervisor: a process that dies (killed, or halted by its
own retry policy while PostgreSQL was away) is started again by ``Stack.supervise``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka.admin import AIOKafkaAdminClient

from deploy.infrastructure import TEST_DATA
from deploy.infrastructure import TEST_PORTS as INFRASTRUCTURE_PORTS
from deploy.local.stack import make_broker, make_postgres
from deploy.processes import ServiceProcess
from deploy.system import TEST_PORTS
from services.ops.registry import consumer_group
from services.platform.agents import SESSION_TIMEOUT_SECONDS

WORKERS = tuple(f"{s}-worker" for s in ("orders", "payments", "fulfilment", "refunds"))
log = logging.getLogger("faults")


@dataclass
class Stack:
    """The running system the faults act on, and how to restart its infrastructure."""

    processes: dict[str, ServiceProcess]
    bank_url: str
    restart_kafka: Callable[[], None]
    restart_postgres: Callable[[], None]
    kill_broker: Callable[[], Callable[[], None]] | None = None
    """On a cluster: SIGKILL one broker; returns how to start it again."""
    paused: set[str] = field(default_factory=set)
    restarts: dict[str, int] = field(default_factory=dict)

    async def supervise(self) -> None:
        """Start again every process that died, like the supervisor of ``make run``."""
        for name, process in list(self.processes.items()):
            if name not in self.paused and process.process is not None and not process.running:
                self.restarts[name] = self.restarts.get(name, 0) + 1
                await asyncio.to_thread(_restart, process)

    def second_instance(self, name: str) -> ServiceProcess:
        """Another instance of a worker, in the same consumer group."""
        original = self.processes[name]
        twin = ServiceProcess(f"{name}-2", original.args, original.env,
                              original.log_path.parent)
        self.processes[twin.name] = twin
        return twin.start(WORKER_DATA_DIR=str(original.log_path.parent / f"{twin.name}.data"))

    def retire(self, name: str) -> None:
        """Stop an extra instance for good."""
        self.paused.add(name)
        self.processes.pop(name).stop()
        self.paused.discard(name)


def restart_local_kafka() -> None:
    """Stop the test stack's broker and start it again."""
    broker = make_broker(TEST_DATA, INFRASTRUCTURE_PORTS["kafka"],
                         INFRASTRUCTURE_PORTS["controller"])
    broker.stop()
    broker.start()
    broker.wait_ready()


def restart_local_postgres() -> None:
    """Stop the test stack's PostgreSQL server and start it again."""
    postgres = make_postgres(TEST_DATA, INFRASTRUCTURE_PORTS["postgres"])
    postgres.stop()
    postgres.start()
    postgres.wait_ready()


def local_stack(processes: dict[str, ServiceProcess], **cluster: Any) -> Stack:
    """The faults' view of the test harness's running system on the local launcher."""
    return Stack(processes, f"http://127.0.0.1:{TEST_PORTS['bank']}", restart_local_kafka,
                 restart_local_postgres, **cluster)


def _restart(process: ServiceProcess) -> None:
    process.start()
    if process.health_url:
        process.wait_healthy()


@dataclass(frozen=True)
class Fault:
    """One kind of fault: what it does to the stack while the load runs."""

    name: str
    kind: str
    act: Callable[[Stack], Coroutine[Any, Any, None]]


def kill(name: str) -> Fault:
    """SIGKILL of one process; the supervisor starts it again."""
    async def act(stack: Stack) -> None:
        await asyncio.to_thread(stack.processes[name].kill)
    return Fault(f"SIGKILL {name}", "kill", act)


def kill_each(names: list[str], what: str) -> Fault:
    """SIGKILL of each of ``names`` in turn, 2 s apart, within one round (the short form)."""
    async def act(stack: Stack) -> None:
        for name in names:
            await asyncio.to_thread(stack.processes[name].kill)
            await asyncio.sleep(2)
    return Fault(f"SIGKILL of each {what} in turn", "kill", act)


def zombie(name: str) -> Fault:
    """SIGSTOP of a worker past its session timeout while a second instance runs: its
    partitions move; SIGCONT wakes it up as a zombie whose commits must be fenced off."""
    async def act(stack: Stack) -> None:
        twin = stack.second_instance(name)
        await group_settles(stack, name, 2)  # the twin has joined before the original stops
        pid = stack.processes[name].process.pid  # type: ignore[union-attr]
        os.kill(pid, signal.SIGSTOP)
        await group_settles(stack, name, 1)  # evicted after its session timeout
        os.kill(pid, signal.SIGCONT)
        await group_settles(stack, name, 2)  # woken, fenced off, joined again
        stack.retire(twin.name)
    return Fault(f"SIGSTOP/SIGCONT {name} past its session timeout", "zombie", act)


def kill_one_of_two_workers() -> Fault:
    """Two instances of every worker in one consumer group; one of each is killed and its
    partitions move to the other."""
    async def act(stack: Stack) -> None:
        twins = [stack.second_instance(name) for name in WORKERS]
        await asyncio.gather(*(group_settles(stack, name, 2) for name in WORKERS))
        for name in WORKERS:
            stack.paused.add(name)
            await asyncio.to_thread(stack.processes[name].kill)
        await asyncio.gather(*(group_settles(stack, name, 1) for name in WORKERS))
        for name in WORKERS:
            await asyncio.to_thread(stack.processes[name].start)
            stack.paused.discard(name)
        await asyncio.gather(*(group_settles(stack, name, 2) for name in WORKERS))
        await asyncio.gather(*(asyncio.to_thread(stack.retire, twin.name) for twin in twins))
    return Fault("two instances of every worker; one of each SIGKILLed", "scale", act)


async def group_settles(stack: Stack, worker: str, members: int,
                        timeout: float = 3 * SESSION_TIMEOUT_SECONDS) -> None:
    """Wait until ``worker``'s consumer group is stable with ``members`` members: a second
    instance has joined, a stopped one was evicted, a woken one joined again. Past ``timeout``
    the round goes on (its checks then tell whether anything was lost or doubled)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.processes[worker].env["KAFKA_BOOTSTRAP"])
    group = consumer_group(worker.removesuffix("-worker"))
    await admin.start()
    try:
        deadline = time.monotonic() + timeout
        while (found := await _membership(admin, group)) != ("Stable", members):
            if time.monotonic() > deadline:
                log.warning("group %s not stable with %d members after %.0f s: %s",
                            group, members, timeout, found)
                return
            await asyncio.sleep(0.5)
    finally:
        await admin.close()


async def _membership(admin: AIOKafkaAdminClient, group: str) -> tuple[str, int]:
    """The group's state and how many members it has (DescribeGroups: every version puts the
    state third and the members sixth)."""
    [response] = await admin.describe_consumer_groups([group])
    [described] = response.groups
    return str(described[2]), len(described[5])


def restart(what: str) -> Fault:
    """A restart of the Kafka broker or of the PostgreSQL server."""
    async def act(stack: Stack) -> None:
        await asyncio.to_thread(stack.restart_kafka if what == "kafka" else
                                stack.restart_postgres)
    return Fault(f"{what} restart", "infrastructure", act)


def broker_killed() -> Fault:
    """SIGKILL of one broker of a cluster under load; it comes back 10 s later."""
    async def act(stack: Stack) -> None:
        assert stack.kill_broker is not None
        start_again = await asyncio.to_thread(stack.kill_broker)
        await asyncio.sleep(10)
        await asyncio.to_thread(start_again)
    return Fault("SIGKILL of one broker of three", "cluster", act)


def bank(faults: dict[str, object], name: str) -> Fault:
    """The bank simulator failing (or slow) for 10 s."""
    async def act(stack: Stack) -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            await http.post(f"{stack.bank_url}/_simulator/faults", json=faults)
            await asyncio.sleep(10)
            await http.post(f"{stack.bank_url}/_simulator/faults",
                            json={"capture": "ok", "refund": "ok", "delay_seconds": 0})
    return Fault(name, "bank", act)


def all_faults(processes: list[str], grouped: bool = False) -> list[Fault]:
    """Every fault of the suite, one kind at a time; ``grouped``: the processes of one role
    (APIs, relays, workers) are killed in turn within one round instead of one round each."""
    if grouped:
        roles = {role: [p for p in processes if p.endswith(f"-{role}")]
                 for role in ("api", "relay", "worker")}
        kills = [kill_each(names, role) for role, names in roles.items()]
    else:
        kills = [kill(name) for name in processes]
    return [*kills, zombie("orders-worker"),
            kill_one_of_two_workers(), restart("kafka"), restart("postgres"),
            bank({"capture": "unavailable", "refund": "unavailable"}, "bank unavailable"),
            bank({"delay_seconds": 3}, "bank answering in 3 s")]
