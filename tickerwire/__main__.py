"""`python -m tickerwire`: the command line, the same as the `tickerwire` script."""

from pipelines.cli import main

if __name__ == "__main__":
    main()
