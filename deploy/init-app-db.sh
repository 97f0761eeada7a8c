#!/bin/sh
# The service's own database next to Temporal's, created on the first start of the PostgreSQL container (an empty
# volume). Its password comes from the container's environment (ACCOUNTS_DB_PASSWORD), never from this file.
set -eu
: "${ACCOUNTS_DB_PASSWORD:?set ACCOUNTS_DB_PASSWORD}"
# Read by psql from its environment (\getenv), not from its command line (which `ps` shows); psql quotes it
# itself (:'pw'), whatever it contains.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<'SQL'
\getenv pw ACCOUNTS_DB_PASSWORD
CREATE USER accounts WITH PASSWORD :'pw';
CREATE DATABASE accounts OWNER accounts;
SQL
