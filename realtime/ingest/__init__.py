"""Event collection: the event-type registry, sources and keys, ingest, and the archive.

``validation`` compiles the registry into functions; ``services`` holds the writes (ingest hot
path included); ``selectors`` the reads (registry for the designer, archive for replay);
``archive`` the consumer group that copies the streams into PostgreSQL.
"""
