// kunflow/timer-parses, as the server's check: a timer's time is an expression the engine
// evaluates (Python): a quoted ISO 8601 date, duration or cycle, or an expression giving one
// (checked here for balanced brackets only; the server compiles it). A bare ISO literal
// (`PT2H`) is an error: it fails when the timer starts.
import { emitter, label } from './util.js';

const DURATION = /^P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$/;
const DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const CYCLE = /^R\d*\/(.+)$/;

export function isoParses(text) {
  if (DURATION.test(text)) {
    return true;
  }
  if (DATE.test(text)) {
    return !Number.isNaN(Date.parse(text.replace(' ', 'T')));
  }
  const cycle = CYCLE.exec(text);
  if (cycle) {
    return cycle[1].split('/').every((part) => DURATION.test(part) || DATE.test(part));
  }
  return false;
}

function balanced(text) {
  const pairs = { ')': '(', ']': '[', '}': '{' };
  const stack = [];
  let quote = null;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) {
        quote = null;
      }
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if ('([{'.includes(ch)) {
      stack.push(ch);
    } else if (pairs[ch]) {
      if (stack.pop() !== pairs[ch]) {
        return false;
      }
    }
  }
  return !quote && stack.length === 0;
}

export function timerParses(text) {
  const value = (text || '').trim();
  if (!value) {
    return false;
  }
  const quoted = /^(['"])(.*)\1$/.exec(value);
  if (quoted) {
    return isoParses(quoted[2].trim());
  }
  if (/^(R\d*\/)?P(?=\d|T)/.test(value) || /^\d{4}-\d{2}-\d{2}/.test(value)) {
    return false; // a bare ISO literal: to be quoted
  }
  return balanced(value);
}

export default function timerParsesRule(config = {}) {
  function check(node, reporter) {
    if (node.$type !== 'bpmn:TimerEventDefinition') {
      return;
    }
    const expr = node.timeDate || node.timeDuration || node.timeCycle;
    const text = expr ? expr.body || '' : '';
    if (!timerParses(text)) {
      const owner = node.$parent || node;
      emitter(config, reporter)('error', owner.id, `定时器“${label(owner)}”的时间“${text}”无法解析`);
    }
  }

  return { check };
}
