/**
 * SQLite pragmas of the file-backed Temporal dev server that `npm run dev` starts. WAL with normal sync takes about
 * three times the signals per second of SQLite's default journal (docs/BENCHMARKS.md); it survives a crash of any
 * process and may lose the last moments of work on a power cut, which is fine for development.
 */
export const DEV_SERVER_SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'];
