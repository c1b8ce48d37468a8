#!/usr/bin/env node
// Starts the patched @vercel/cosmosdb-server for the tests: node server.js [host] [port]  (port 0: the OS picks one).
// Unlike the package's cli.js it keeps connections alive, as the real service does; with "connection: close" on
// every response, clients are left closing TLS connections while their event loop shuts down.
"use strict";

const { createHttpsServer } = require("@vercel/cosmosdb-server");

const host = process.argv[2] || "127.0.0.1";
const port = Number(process.argv[3] || 0);

const server = createHttpsServer({ keepAlive: true }).listen(port, host, () => {
  const address = server.address();
  // tests/cosmos_emulator.py waits for this line and reads the port from it.
  console.log(`Ready to accept HTTPS connections at ${address.address}:${address.port}`);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
