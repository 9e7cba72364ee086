import type { Migration } from '../migrations.js';

/** The state schema: small, transactional tables with primary keys. */
export const STATE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'create projects, api_keys, settings',
    steps: [
      `CREATE TABLE projects (
        id VARCHAR NOT NULL PRIMARY KEY,
        name VARCHAR NOT NULL,
        created_at_ms BIGINT NOT NULL
      )`,
      `CREATE TABLE api_keys (
        id VARCHAR NOT NULL PRIMARY KEY,
        project_id VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        key_hash VARCHAR NOT NULL UNIQUE,
        prefix VARCHAR NOT NULL,
        created_at_ms BIGINT NOT NULL,
        revoked_at_ms BIGINT
      )`,
      `CREATE TABLE settings (
        key VARCHAR NOT NULL PRIMARY KEY,
        value VARCHAR NOT NULL
      )`,
    ],
  },
];
