"""Development tools: the benchmark, the random-weight model builder and the detection evaluation.

Nothing on the runtime path imports this package; ``transnorm bench`` and ``transnorm evaluate``
import it when they run.
"""
