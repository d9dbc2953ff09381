"""The data warehouse: change capture from installations (Debezium → Kafka) into one DWH
database, tagged by cluster, and the reports over it (DwhReportService)."""
