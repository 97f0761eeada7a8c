-- The service's own database next to Temporal's, created on the first start of the PostgreSQL container.
CREATE USER accounts WITH PASSWORD 'accounts';
CREATE DATABASE accounts OWNER accounts;
