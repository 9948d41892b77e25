// fetch with the conventions of kunflow's JSON endpoints: CSRF header, same-origin cookies,
// errors as { error: { code, message, details } }.

export class RequestFailed extends Error {
  /**
   * @param {string} message Chinese, for the status line
   * @param {{ status?: number, code?: string, details?: any, network?: boolean }} info
   */
  constructor(message, info = {}) {
    super(message);
    this.name = 'RequestFailed';
    this.status = info.status ?? 0;
    this.code = info.code;
    this.details = info.details;
    this.network = Boolean(info.network);
  }
}

const STATUS_TEXT = {
  400: '请求有误',
  401: '登录已失效，请重新登录',
  403: '没有权限执行此操作',
  404: '找不到该任务或地址',
  409: '任务状态已变化（可能已被他人处理），请刷新页面查看',
  413: '文件过大',
  415: '不支持的文件类型',
  422: '提交的数据有误',
  429: '操作过于频繁，请稍后再试',
  500: '服务器内部错误',
  502: '服务暂不可用',
  503: '服务暂不可用',
  504: '服务器响应超时',
};

async function readBody(response) {
  const text = await response.text();
  if (!text) {
    return null;
  }
  try {
    return JSON.parse(text);
  } catch {
    return null; // an HTML error page, a proxy's text
  }
}

/**
 * Send a request and return the parsed JSON body of a 2xx answer; throw RequestFailed otherwise.
 *
 * @param {string} url
 * @param {{ method?: string, csrf?: string, json?: any, body?: BodyInit }} options
 */
export async function requestJSON(url, { method = 'POST', csrf, json, body } = {}) {
  const headers = { Accept: 'application/json' };
  if (csrf) {
    headers['X-CSRF-Token'] = csrf;
  }
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body, credentials: 'same-origin' });
  } catch {
    throw new RequestFailed('网络连接失败，请检查网络后重试', { network: true });
  }
  const payload = await readBody(response);
  if (response.ok) {
    return payload ?? {};
  }
  const error = (payload && payload.error) || {};
  const fallback = STATUS_TEXT[response.status] || '请求失败';
  const message = typeof error.message === 'string' && error.message ? error.message : `${fallback}（HTTP ${response.status}）`;
  throw new RequestFailed(message, {
    status: response.status,
    code: error.code,
    details: error.details,
  });
}

/** Upload one file as multipart (file, field) and return the attachment id. */
export async function uploadAttachment(url, { csrf, file, field }) {
  const body = new FormData();
  body.append('file', file, file.name);
  body.append('field', field);
  const answer = await requestJSON(url, { csrf, body });
  const id = answer && answer.attachment && answer.attachment.id;
  if (id === undefined || id === null || id === '') {
    throw new RequestFailed('服务器未返回附件编号');
  }
  return String(id);
}
