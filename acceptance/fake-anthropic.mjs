#!/usr/bin/env node
// A fake of Anthropic's Messages API for the SDK harness run with Codebuff:Upstream:Kind=anthropic, on loopback only.
//   node fake-anthropic.mjs [PORT]   prints "FAKE_LLM_LISTENING http://127.0.0.1:PORT" once listening.
// Serves POST <any prefix>/messages in the API's documented shapes: a message object, or (stream: true) the event
// stream message_start, ping, content_block_start/delta/stop (text_delta, input_json_delta), message_delta,
// message_stop. Refuses a request without x-api-key (401 authentication_error) or anthropic-version (400), and a
// body that is not a Messages API body (no max_tokens, a system or tool role in messages, tools without
// input_schema) with 400 invalid_request_error, so the server's translation is checked on every call.
// It answers what ../shared/acceptance/fake-llm.mjs answers, read from Anthropic's shapes: `[[spawn:AGENT]]` with a
// spawn_agents tool and no tool result yet -> a spawn_agents tool_use; `[[tool:NAME {json}]]` markers -> one
// scripted tool_use per step; `[[reply:TEXT]]` -> that text; otherwise a greeting naming the model.
// Usage: input_tokens = body length / 4, plus 10,000 cache-read and 2,000 cache-write tokens, 20 output tokens
// (Anthropic reports no cost; the server prices it).
import http from 'node:http';
import { randomUUID } from 'node:crypto';

const port = Number(process.argv[2] || 0);
const textOf = (content) => typeof content === 'string' ? content
  : Array.isArray(content) ? content.filter((b) => b && b.type === 'text').map((b) => b.text || '').join('\n') : '';
const countToolResults = (messages) => messages.filter((m) => m.role === 'user' && Array.isArray(m.content))
  .reduce((n, m) => n + m.content.filter((b) => b && b.type === 'tool_result').length, 0);

function invalid(body) {
  if (!Number.isInteger(body.max_tokens) || body.max_tokens < 1) return 'max_tokens: Field required';
  if (!Array.isArray(body.messages) || body.messages.length === 0) return 'messages: Field required';
  for (const m of body.messages) {
    if (m.role !== 'user' && m.role !== 'assistant') return `messages: Unexpected role "${m.role}"`;
    if (!Array.isArray(m.content) || m.content.length === 0) return 'messages: content must be a non-empty list of blocks';
  }
  for (let i = 1; i < body.messages.length; i++)
    if (body.messages[i].role === body.messages[i - 1].role) return 'messages: roles must alternate between "user" and "assistant"';
  for (const t of body.tools || []) if (!t.name || typeof t.input_schema !== 'object') return 'tools: each tool needs a name and an input_schema';
  return null;
}

function plan(body) {
  const messages = body.messages;
  const tools = (body.tools || []).map((t) => t.name);
  const results = countToolResults(messages);
  const convo = messages.filter((m) => m.role === 'user').map((m) => textOf(m.content)).join('\n');
  const spawn = /\[\[spawn:([A-Za-z0-9_./@-]+)\]\]/.exec(convo);
  if (tools.includes('spawn_agents') && results === 0 && spawn)
    return { tool: 'spawn_agents', args: { agents: [{ agent_type: spawn[1], prompt: 'Say hello to the parent.' }] } };
  const reply = /\[\[reply:([^\]]+)\]\]/.exec(convo);
  const script = [...convo.matchAll(/\[\[tool:([A-Za-z0-9_-]+)\s+(\{[\s\S]*?\})\]\]/g)];
  if (script.length) {
    if (results < script.length) {
      const [, name, json] = script[results];
      let args; try { args = JSON.parse(json); } catch { return { text: `Bad JSON in the tool marker for ${name}.` }; }
      return tools.includes(name) ? { tool: name, args } : { text: `The tool ${name} is not offered to this agent.` };
    }
    return { text: reply ? reply[1] : 'Every scripted tool call has a result. Done.' };
  }
  return { text: results > 0 ? 'All sub-agents have reported back. Done.' : reply ? reply[1] : `Hello from the fake Anthropic API! You are talking to ${body.model}.` };
}

const error = (res, status, type, message) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'error', error: { type, message } }));

const server = http.createServer((req, res) => {
  let raw = '';
  req.on('data', (c) => (raw += c));
  req.on('end', () => {
    if (req.method !== 'POST' || !req.url.split('?')[0].endsWith('/messages')) { error(res, 404, 'not_found_error', 'Not found'); return; }
    if (!req.headers['x-api-key']) { error(res, 401, 'authentication_error', 'x-api-key header is required'); return; }
    if (!req.headers['anthropic-version']) { error(res, 400, 'invalid_request_error', 'anthropic-version header is required'); return; }
    let body; try { body = JSON.parse(raw); } catch { error(res, 400, 'invalid_request_error', 'invalid JSON'); return; }
    const bad = invalid(body);
    if (bad) { error(res, 400, 'invalid_request_error', bad); return; }
    const p = plan(body);
    const id = `msg_${randomUUID().replace(/-/g, '')}`;
    const usage = { input_tokens: Math.ceil(raw.length / 4), cache_creation_input_tokens: 2000, cache_read_input_tokens: 10000, output_tokens: 20 };
    const toolUse = p.tool && { type: 'tool_use', id: `toolu_${randomUUID().slice(0, 8)}`, name: p.tool, input: p.args };
    const stopReason = p.tool ? 'tool_use' : 'end_turn';
    if (!body.stream) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id, type: 'message', role: 'assistant', model: body.model,
        content: [p.tool ? toolUse : { type: 'text', text: p.text }], stop_reason: stopReason, stop_sequence: null, usage }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    const event = (type, data) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    event('message_start', { message: { id, type: 'message', role: 'assistant', model: body.model, content: [], stop_reason: null, stop_sequence: null,
      usage: { ...usage, output_tokens: 1 } } });
    event('ping', {});
    if (p.tool) {
      const args = JSON.stringify(p.args), half = Math.floor(args.length / 2);
      event('content_block_start', { index: 0, content_block: { ...toolUse, input: {} } });
      for (const part of [args.slice(0, half), args.slice(half)]) event('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: part } });
    } else {
      event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
      for (const piece of p.text.match(/\S+\s*/g) || [p.text]) event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: piece } });
    }
    event('content_block_stop', { index: 0 });
    event('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } });
    event('message_stop', {});
    res.end();
  });
});
server.listen(port, '127.0.0.1', () => console.log(`FAKE_LLM_LISTENING http://127.0.0.1:${server.address().port}`));
