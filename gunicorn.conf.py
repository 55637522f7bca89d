"""gunicorn settings read from the working directory (`gunicorn dyad.wsgi --preload`).

With --preload the app (Django, pandas, scipy, statsmodels, plotly: ~1 million objects)
is imported once in the master before it forks the workers. Freezing those objects moves
them out of the garbage collector's generations: a worker's full collections no longer
walk them (each walk also writes to their pages, undoing the memory shared by fork).
See docs/scaling.md.
"""

import gc


def when_ready(server):  # type: ignore[no-untyped-def]
    gc.collect()
    gc.freeze()
