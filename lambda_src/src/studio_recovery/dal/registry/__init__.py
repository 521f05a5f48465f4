"""The registry's data-access layer, shared by every Lambda and the CLI.

Two repositories over the one registry table (docs/internals.md section 1), by job:

- `RegistryRepository` (`homes.py`): domains, profiles and generations, i.e. who has had
  which home directory; `read_history` returns a profile's whole partition at once.
- `RestoreRepository` (`restores.py`): what was done to those homes: restore and backup
  items, copy requests, the profile row's last-restore fields, the DataSync slots.

`table.py` holds what both share (pagination, conditional writes, transactions);
`items.py` the transaction items of the history writes.
"""

from studio_recovery.dal.registry.homes import BatchRecordResult, RegistryRepository
from studio_recovery.dal.registry.restores import SEMAPHORE_KEY, RestoreRepository
from studio_recovery.dal.registry.table import MAX_CONFLICT_ATTEMPTS

__all__ = [
    "MAX_CONFLICT_ATTEMPTS",
    "SEMAPHORE_KEY",
    "BatchRecordResult",
    "RegistryRepository",
    "RestoreRepository",
]
