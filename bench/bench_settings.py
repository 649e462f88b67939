"""Settings for benchmarks: Tongxin's own, plus a bare endpoint to compare against."""

from tongxin.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench_urls"
