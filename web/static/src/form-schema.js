// Pure helpers over a form-js schema and its data: which data path each field writes, which field
// a server error key names, and the attachment ids that a file picker cannot hold itself.
// No DOM and no form-js import here: web/static/test runs these under plain node.

export const FILE_KEY_PREFIX = 'files::'; // form-js FilePicker's value: a key into its file registry

function splitPath(path) {
  return String(path)
    .split('.')
    .filter((part) => part !== '');
}

/** ['a', 'b', '0', 'c'] from "a.b[0].c" or "a.b.0.c". */
export function parseErrorKey(key) {
  return String(key)
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((part) => part !== '');
}

/**
 * Every field that holds a value, with the data path it writes as a template: a repeating
 * list (dynamic list) puts '*' where the row index goes, as form-js's PathRegistry does.
 *
 * @param {object} schema a form-js schema (components nested in groups and dynamic lists)
 * @returns {Array<{ id: string|undefined, key: string, type: string, template: string[], repeating: number }>}
 */
export function describeFields(schema) {
  const out = [];
  const walk = (components, prefix, repeating) => {
    for (const component of components || []) {
      if (!component || typeof component !== 'object') {
        continue;
      }
      if (Array.isArray(component.components)) {
        let next = component.path ? [...prefix, ...splitPath(component.path)] : prefix;
        let depth = repeating;
        if (component.isRepeating) {
          next = [...next, '*'];
          depth += 1;
        }
        walk(component.components, next, depth);
      } else if (component.key) {
        out.push({
          id: component.id,
          key: component.key,
          type: component.type,
          template: [...prefix, ...splitPath(component.key)],
          repeating,
        });
      }
    }
  };
  walk(schema && schema.components, [], 0);
  return out;
}

/**
 * Where form-js keeps the error of a server error key: [fieldId, ...row indexes] paths
 * (form-js stores errors as errors[fieldId][rowIndex]...). Empty when no field matches.
 *
 * @param {ReturnType<typeof describeFields>} fields
 * @param {string} key e.g. "enterprise_name", "ledger[0].unit", "ledger.0.unit"
 * @returns {Array<Array<string|number>>}
 */
export function errorPathsForKey(fields, key) {
  const segments = parseErrorKey(key);
  const exact = [];
  for (const field of fields) {
    if (!field.id || field.template.length !== segments.length) {
      continue;
    }
    const indexes = [];
    const matches = field.template.every((part, i) => {
      if (part === '*') {
        if (/^\d+$/.test(segments[i])) {
          indexes.push(Number(segments[i]));
          return true;
        }
        return false;
      }
      return part === segments[i];
    });
    if (matches) {
      exact.push([field.id, ...indexes]);
    }
  }
  if (exact.length) {
    return exact;
  }
  // the server may name a field by its key alone (engine/forms.py does): a field outside lists
  return fields
    .filter((field) => field.id && field.key === key && field.repeating === 0)
    .map((field) => [field.id]);
}

function isAttachmentId(value) {
  return typeof value === 'string' && value !== '' && !value.startsWith(FILE_KEY_PREFIX);
}

function getPath(data, path) {
  let node = data;
  for (const part of path) {
    if (node === null || typeof node !== 'object') {
      return undefined;
    }
    node = node[part];
  }
  return node;
}

/** Every concrete data path of a template ('*' expanded over the rows present in data). */
export function expandTemplate(template, data) {
  let paths = [[]];
  for (const part of template) {
    if (part !== '*') {
      paths = paths.map((path) => [...path, part]);
      continue;
    }
    const next = [];
    for (const path of paths) {
      const rows = getPath(data, path);
      if (Array.isArray(rows)) {
        rows.forEach((_, index) => next.push([...path, index]));
      }
    }
    paths = next;
  }
  return paths;
}

/** A stable string for a data path: the key of the attachment map. */
export function pathKey(path) {
  return JSON.stringify(path.map(String));
}

/**
 * Take the attachment ids out of the file picker fields of data. form-js's FilePicker holds only
 * a key into its registry of File objects and resets any other value to null, so the ids the
 * server already has are kept beside the form and merged back on submit.
 *
 * @param {object} schema
 * @param {object} data prefill data (not changed)
 * @returns {{ data: object, attachments: Map<string, string[]> }}
 */
export function extractAttachments(schema, data) {
  const copy = structuredCloneSafe(data || {});
  const attachments = new Map();
  for (const field of describeFields(schema)) {
    if (field.type !== 'filepicker') {
      continue;
    }
    for (const path of expandTemplate(field.template, copy)) {
      const parent = getPath(copy, path.slice(0, -1));
      const last = path[path.length - 1];
      if (!parent || typeof parent !== 'object' || !(last in parent)) {
        continue;
      }
      const value = parent[last];
      const ids = (Array.isArray(value) ? value : [value]).filter(isAttachmentId);
      if (ids.length) {
        attachments.set(pathKey(path), ids);
      }
      delete parent[last];
    }
  }
  return { data: copy, attachments };
}

function structuredCloneSafe(value) {
  return JSON.parse(JSON.stringify(value));
}

/** How many field instances have errors in a form-js errors object. */
export function countErrors(errors) {
  if (Array.isArray(errors)) {
    // a leaf: the messages of one field instance; or (sparse) rows of a repeating field
    return errors.length && errors.every((item) => typeof item === 'string')
      ? 1
      : errors.reduce((sum, item) => sum + (item ? countErrors(item) : 0), 0);
  }
  if (errors && typeof errors === 'object') {
    return Object.values(errors).reduce((sum, item) => sum + (item ? countErrors(item) : 0), 0);
  }
  return 0;
}

/** Set value at path in a nested object, creating objects (or arrays for numeric parts). */
export function setPath(target, path, value) {
  let node = target;
  path.forEach((part, i) => {
    if (i === path.length - 1) {
      node[part] = value;
      return;
    }
    if (node[part] === null || typeof node[part] !== 'object') {
      node[part] = typeof path[i + 1] === 'number' ? [] : {};
    }
    node = node[part];
  });
  return target;
}

/**
 * Split a 422's details ({ key: message } or [{ field|key, message }]) into errors placed on
 * their fields and the rest, which the status line lists.
 */
export function placeDetails(details, fields) {
  const entries = Array.isArray(details)
    ? details.map((item) => [item && (item.field ?? item.key), item && item.message])
    : Object.entries(details);
  const placed = [];
  const unplaced = [];
  for (const [key, raw] of entries) {
    const messages = (Array.isArray(raw) ? raw : [raw]).filter((m) => m !== undefined && m !== null).map(String);
    if (!messages.length) {
      continue;
    }
    const paths = key === undefined || key === null ? [] : errorPathsForKey(fields, String(key));
    if (paths.length) {
      paths.forEach((path) => placed.push({ path, messages }));
    } else {
      unplaced.push({ key: key ?? '', message: messages.join('；') });
    }
  }
  return { placed, unplaced };
}

export { getPath };
