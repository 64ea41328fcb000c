// Better Auth with its anonymous plugin and email and password sign-in (its default password hashing,
// scrypt) on better-sqlite3, on a plain node:http server, for the sign-in benchmark:
// POST /api/auth/sign-in/anonymous, POST /api/auth/sign-up/email, POST /api/auth/sign-in/email, and
// GET /__hello (this process's ceiling).
//
//   node server.mjs --database FILE [--port 0]
//
// Prints "listening on http://127.0.0.1:PORT" once it accepts connections. SQLite runs in WAL mode with
// synchronous=NORMAL, as the guestpass reference server's does; rate limiting is off (the load comes from
// one address), as is telemetry.
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { parseArgs } from "node:util";

import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";
import { anonymous } from "better-auth/plugins";
import Database from "better-sqlite3";

const { values } = parseArgs({
  options: {
    database: { type: "string", default: "better-auth.db" },
    port: { type: "string", default: "0" },
  },
});

const database = new Database(values.database);
database.pragma("journal_mode = WAL");
database.pragma("synchronous = NORMAL");

const server = createServer();
server.listen(Number(values.port), "127.0.0.1", async () => {
  const origin = `http://127.0.0.1:${server.address().port}`;
  const auth = betterAuth({
    database,
    baseURL: origin,
    secret: randomBytes(32).toString("hex"),
    rateLimit: { enabled: false },
    telemetry: { enabled: false },
    emailAndPassword: { enabled: true },
    plugins: [anonymous()],
  });
  const { runMigrations } = await getMigrations(auth.options);
  await runMigrations();

  const handle = toNodeHandler(auth);
  server.on("request", (request, response) => {
    if (request.method === "GET" && request.url === "/__hello") {
      response.writeHead(200, { "content-type": "text/plain" }).end("hello");
      return;
    }
    handle(request, response);
  });
  console.log(`listening on ${origin}`);
});
