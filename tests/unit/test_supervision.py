"""supervisord's configuration for the Procfile: one program per process, copies when asked."""

from __future__ import annotations

import configparser
from pathlib import Path

from deploy.supervision import PROCFILE, Supervision, procfile_commands, supervisord_config


def config_for(tmp_path: Path, instances: dict[str, int] | None = None,
               ) -> configparser.RawConfigParser:
    commands = procfile_commands(PROCFILE.read_text(), {"ORDERS_PORT": "20001"})
    parsed = configparser.RawConfigParser()
    parsed.read_string(supervisord_config(commands, Supervision(tmp_path), instances))
    return parsed


def test_every_procfile_process_is_one_program_by_default(tmp_path: Path) -> None:
    config = config_for(tmp_path)

    programs = [s for s in config.sections() if s.startswith("program:")]
    assert len(programs) == len(procfile_commands(PROCFILE.read_text(), {}))
    assert config["program:orders-worker"]["numprocs"] == "1"
    assert config["program:orders-worker"]["process_name"] == "%(program_name)s"
    assert "services.platform.serve services.orders.main:app --port 20001" in (
        config["program:orders-api"]["command"])


def test_copies_of_workers_and_apis_are_numbered_and_log_apart(tmp_path: Path) -> None:
    config = config_for(tmp_path, {"-worker": 2, "-api": 3})

    worker, api = config["program:payments-worker"], config["program:refunds-api"]
    assert (worker["numprocs"], api["numprocs"]) == ("2", "3")
    assert worker["process_name"] == "%(program_name)s-%(process_num)d"
    assert worker["stdout_logfile"].endswith("%(program_name)s-%(process_num)d.log")
    assert config["program:orders-relay"]["numprocs"] == "1"  # one relay publishes at a time


def test_the_apis_run_at_the_pipelines_cpu_priority_unless_told_otherwise() -> None:
    # below saturation a lower priority only made commands wait behind the workers' batches
    commands = procfile_commands(PROCFILE.read_text(), {})
    apis = {name for name in commands if name.endswith("-api")}
    assert apis == {"orders-api", "payments-api", "fulfilment-api", "refunds-api"}
    assert all(commands[name].endswith("--nice 0") for name in apis)
    assert not any("--nice" in command for name, command in commands.items()
                   if name not in apis)
    changed = procfile_commands(PROCFILE.read_text(), {"API_NICE": "10"})
    assert all(changed[name].endswith("--nice 10") for name in apis)
