"""cnscore: a Spark-native Community Notes bridging scorer."""

__version__ = "0.1.0"
