#!/usr/bin/env node
// The tests' own stdio MCP server: newline-delimited JSON-RPC 2.0 on stdin/stdout (the MCP stdio transport).
// Tools: echo{text} (with the server's working directory), write{path,text} (tries to write a file), env{name}
// (a variable of the server's environment), slow{} (never answers before the run ends). Any argument is ignored
// except as a marker the tests find in /proc to see the process is gone.
import fs from 'node:fs';
import readline from 'node:readline';

const tools = [
  { name: 'echo', description: 'Echo a text back', inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } },
  { name: 'write', description: 'Write a file', inputSchema: { type: 'object', properties: { path: { type: 'string' }, text: { type: 'string' } }, required: ['path'] } },
  { name: 'env', description: 'Read an environment variable', inputSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } },
  { name: 'secret_tool', description: 'Not selected by the test agent', inputSchema: { type: 'object', properties: {} } },
];

const send = (msg) => process.stdout.write(JSON.stringify({ jsonrpc: '2.0', ...msg }) + '\n');
const text = (t, isError = false) => ({ content: [{ type: 'text', text: t }], isError });

function call(name, args) {
  switch (name) {
    case 'echo': return text(`echo: ${args.text} (cwd ${process.cwd()})`);
    case 'write':
      try { fs.writeFileSync(args.path, args.text ?? 'x'); return text(`wrote ${args.path}`); }
      catch (e) { return text(`cannot write ${args.path}: ${e.code} ${e.message}`, true); }
    case 'env': return text(`${args.name}=${process.env[args.name] ?? '(unset)'}`);
    default: return text(`no tool ${name}`, true);
  }
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (!line.trim()) return;
  const msg = JSON.parse(line);
  if (msg.id === undefined) return; // notifications
  switch (msg.method) {
    case 'initialize':
      return send({ id: msg.id, result: { protocolVersion: msg.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'test-stdio', version: '1.0.0' } } });
    case 'tools/list': return send({ id: msg.id, result: { tools } });
    case 'tools/call': return send({ id: msg.id, result: call(msg.params.name, msg.params.arguments ?? {}) });
    case 'ping': return send({ id: msg.id, result: {} });
    default: return send({ id: msg.id, error: { code: -32601, message: `Method not found: ${msg.method}` } });
  }
});
