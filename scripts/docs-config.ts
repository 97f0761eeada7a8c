// npm run docs:config: rewrites the configuration table of docs/CONFIGURATION.md from the configuration schema.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { withConfigTable } from '../src/platform/config-docs';

const file = resolve(__dirname, '../docs/CONFIGURATION.md');
writeFileSync(file, withConfigTable(readFileSync(file, 'utf8')));
console.log('docs/CONFIGURATION.md configuration table updated');
