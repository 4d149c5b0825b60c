// Copies the web UI's page files next to the compiled monitoring server (tsc copies only .ts output).
import { cpSync } from 'node:fs';

cpSync('src/monitoring/ui', 'dist/src/monitoring/ui', { recursive: true });
