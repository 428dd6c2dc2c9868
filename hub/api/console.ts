/**
 * The operations console (ops/) as static files at `/`: plain HTML, CSS and ES modules that call only
 * the public API, with the session cookie. Served from the repository's ops/ folder, which the build
 * does not copy (dist/ and the sources both find it two or three levels up).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type RequestHandler } from 'express';

export function consoleDir(): string | undefined {
  for (const up of ['../..', '../../..']) {
    const dir = join(__dirname, up, 'ops');
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

/** Serves ops/ (index.html at `/`); nothing when the folder is not there. */
export function serveConsole(): RequestHandler {
  const dir = consoleDir();
  if (!dir) return (_req, _res, next) => next();
  return express.static(dir, {
    index: 'index.html',
    fallthrough: true,
    setHeaders: (res) => {
      // The console runs only its own scripts and talks only to this hub.
      res.setHeader(
        'content-security-policy',
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
      );
      res.setHeader('x-content-type-options', 'nosniff');
    },
  });
}
