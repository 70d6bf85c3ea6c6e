"""Event bus backends: `memory` for one process, `redis` for many."""
