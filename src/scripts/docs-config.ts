// npm run docs:config: rewrites the README's configuration table from the configuration schema.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { withConfigTable } from '../config-docs';

const file = resolve(__dirname, '../../README.md');
writeFileSync(file, withConfigTable(readFileSync(file, 'utf8')));
console.log('README configuration table updated');
