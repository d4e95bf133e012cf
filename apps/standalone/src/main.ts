import { startStandalone } from './cli/boot.js';

// `npm start`: the three services in one process; first run creates the admin key; the "what now" banner goes to
// stderr (stdout stays JSON log lines for log shippers).
await startStandalone();
