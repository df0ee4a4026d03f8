"""The wire contract: versioned Avro schemas (``avro/<name>.v<N>.avsc``) and their envelope.

See ``schemas/README.md`` for what a station vendor implements.
"""

from gaitstream.schemas.registry import SCHEMA_IDS, latest_version, load_schema, schema_versions

__all__ = ["SCHEMA_IDS", "latest_version", "load_schema", "schema_versions"]
