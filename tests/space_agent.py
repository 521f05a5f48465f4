"""The space agent (modules/space_backup/agent/space_agent.py), loaded from its file: it is
not part of the studio_recovery package (it runs inside Studio apps, stdlib and boto3 only)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

AGENT_PATH = (
    Path(__file__).parents[1] / "modules" / "space_backup" / "agent" / "space_agent.py"
)


def load_agent() -> Any:
    """The agent module (loaded once, under the name space_agent)."""
    if "space_agent" in sys.modules:
        return sys.modules["space_agent"]
    spec = importlib.util.spec_from_file_location("space_agent", AGENT_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["space_agent"] = module
    spec.loader.exec_module(module)
    return module
