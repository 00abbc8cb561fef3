"""`python -m norm_viz.real_bench`: an alias of `python -m norm_viz.real.bench` (the real-model benchmark)."""

from norm_viz.real.bench import main

if __name__ == "__main__":
    main()
