"""spark-submit / `python -m` entry points. Jobs do I/O and configuration; cnscore does the rest."""
