"""The worker places keyed records where the Kafka clients' default partitioner would."""

import random

from aiokafka.partitioner import DefaultPartitioner
from kafka.partitioner.default import murmur2 as kafka_python_murmur2

from gaitstream.pipelines.produce import default_partition


def test_default_partition_matches_the_clients_partitioners() -> None:
    rng = random.Random(7)
    for count in (1, 3, 12, 48):
        partitions = list(range(count))
        for _ in range(500):
            key = f"station-{rng.randrange(10**6):06d}".encode()
            expected = DefaultPartitioner()(key, partitions, partitions)
            assert default_partition(key, partitions) == expected
            # the stations' publisher (kafka-python) places a station's frames the same way
            assert partitions[(kafka_python_murmur2(key) & 0x7FFFFFFF) % count] == expected
