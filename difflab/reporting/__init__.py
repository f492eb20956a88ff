"""Reports built from analysis records: rich tables and graph pictures, registered per record type."""
