// A static server for the test pages with the task endpoints mocked:
//   node web/static/test/serve.mjs [port]   (from the repository root; default port 8765)
// then open http://127.0.0.1:8765/web/static/test/form.html or diagram.html.
// GET /mock/last answers the last JSON body posted (for checks).

import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const port = Number(process.argv[2] || 8765);
const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.bpmn': 'application/xml; charset=utf-8',
  '.form': 'application/json',
};

let last = null;
let attachmentCount = 0;

function send(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) {
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function mock(req, res, url) {
  if (req.method === 'GET' && url.pathname === '/mock/last') {
    return send(res, 200, last);
  }
  if (req.method !== 'POST') {
    return send(res, 405, { error: { code: 'method', message: '仅支持 POST' } });
  }
  if (req.headers['x-csrf-token'] !== 'test-token') {
    return send(res, 400, { error: { code: 'csrf', message: '页面已过期，请刷新后重试' } });
  }
  const body = await readBody(req);
  if (url.pathname.endsWith('/attachments')) {
    const text = body.toString('latin1');
    const name = Buffer.from((/filename="([^"]*)"/.exec(text) || [])[1] || '', 'latin1').toString('utf8');
    const field = (/name="field"\r\n\r\n([^\r]*)/.exec(text) || [])[1];
    if (name.includes('toolarge')) {
      return send(res, 413, { error: { code: 'too_large', message: '文件超过 20 MB', details: { file: name } } });
    }
    attachmentCount += 1;
    return send(res, 201, { attachment: { id: `att_new_${attachmentCount}`, name, field } });
  }
  const json = JSON.parse(body.toString('utf8') || '{}');
  last = { path: url.pathname, ...json };
  if (url.pathname.endsWith('/draft')) {
    return send(res, 200, { saved_at: new Date().toISOString() });
  }
  if (url.pathname.endsWith('/submit')) {
    const name = json.data && json.data.enterprise_name;
    if (name === '冲突') {
      return send(res, 409, { error: { code: 'conflict', message: '任务已被他人办理，请刷新页面' } });
    }
    if (name === '服务器校验') {
      return send(res, 422, {
        error: {
          code: 'invalid_input',
          message: '提交的数据有 3 处问题',
          details: {
            enterprise_phone: '“企业联系电话”格式不正确',
            'verified_progress[0].actual_pct': '“实际累计进度（%）”与台账不符',
            stage: '当前阶段不接受此项',
          },
        },
      });
    }
    return send(res, 200, { redirect: '/web/static/test/done.html?submitted=1' });
  }
  return send(res, 404, { error: { code: 'not_found', message: '没有这个地址' } });
}

createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  try {
    if (url.pathname.startsWith('/mock/')) {
      return await mock(req, res, url);
    }
    const file = path.join(root, path.normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, ''));
    if (!file.startsWith(root) || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      return res.end('not found');
    }
    res.writeHead(200, { 'Content-Type': types[path.extname(file)] || 'application/octet-stream' });
    createReadStream(file).pipe(res);
  } catch (error) {
    send(res, 500, { error: { code: 'server', message: String(error) } });
  }
}).listen(port, '127.0.0.1', () => console.log(`http://127.0.0.1:${port}/web/static/test/form.html`));
