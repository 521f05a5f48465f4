"""`make bench`: performance of studio-recovery on the offline sandbox, each figure beside
its baseline measured in the same run (see bench/PERFORMANCE.md)."""
