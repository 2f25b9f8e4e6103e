"""Benchmark every available backend and precision against TF-Keras and OpenCV (same run).

    python benchmarks/bench.py --model model.onnx --keras model.keras --int8 model_int8.onnx \\
        -o benchmarks/results/<machine>            # same options as `rmnet bench`

See rmnet_sdk/bench/ (its __init__ docstring) for the method; benchmarks/README.md for the
committed results.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rmnet_sdk import bench  # noqa: E402

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    bench.add_arguments(parser)
    sys.exit(bench.main(parser.parse_args()))
