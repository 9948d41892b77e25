import { translateText } from './translate.js';

const ATTRIBUTES = ['placeholder', 'aria-label', 'title', 'alt'];

// Where the words are the form author's or the user's, not form-js's: never rewritten.
// (The file picker's "No files selected" sits in a span, not a label, so it is still reached.)
const AUTHORED = [
  'label',
  'textarea',
  'option',
  '.fjs-form-field-text',
  '.fjs-form-field-html',
  '.fjs-form-field-description',
  '.fjs-taglist-tag-label',
  '.fjs-dropdownlist-item',
  '.fjs-table-td',
  '.fjs-select-display:not(.fjs-select-placeholder)',
  // the bpmn.io watermark stays as its licence asks
  '.fjs-powered-by',
  '.fjs-powered-by-lightbox',
].join(',');

function isAuthored(element) {
  return !element || Boolean(element.closest(AUTHORED));
}

function translateTextNode(node) {
  if (isAuthored(node.parentElement)) {
    return;
  }
  const translated = translateText(node.data);
  if (translated !== null && translated !== node.data) {
    node.data = translated;
  }
}

function translateAttributes(element) {
  if (element.closest('.fjs-powered-by, .fjs-powered-by-lightbox')) {
    return;
  }
  for (const name of ATTRIBUTES) {
    const value = element.getAttribute(name);
    if (value) {
      const translated = translateText(value, { attribute: true });
      if (translated !== null && translated !== value) {
        element.setAttribute(name, translated);
      }
    }
  }
}

/** Translate every text and attribute under root once. */
export function translateTree(root) {
  const doc = root.ownerDocument || document;
  const walker = doc.createTreeWalker(root, 1 | 4); // elements and text nodes
  let node = root;
  while (node) {
    if (node.nodeType === 3) {
      translateTextNode(node);
    } else if (node.nodeType === 1) {
      translateAttributes(node);
    }
    node = walker.nextNode();
  }
}

/**
 * Keep the subtree of root in Chinese while form-js (Preact) re-renders it. Preact patches
 * only what changed in its virtual DOM, so a translated node stays translated until form-js
 * writes a new English text, which the observer then translates again.
 *
 * @param {Element} root
 * @param {() => void} [afterEach] called after each batch (e.g. to decorate fields)
 * @returns {MutationObserver}
 */
export function installTranslator(root, afterEach = () => {}) {
  const run = (mutations) => {
    for (const mutation of mutations) {
      if (mutation.type === 'characterData') {
        translateTextNode(mutation.target);
      } else if (mutation.type === 'attributes') {
        translateAttributes(mutation.target);
      } else {
        for (const added of mutation.addedNodes) {
          if (added.nodeType === 3) {
            translateTextNode(added);
          } else if (added.nodeType === 1) {
            translateTree(added);
          }
        }
      }
    }
    afterEach();
  };
  const observer = new MutationObserver(run);
  translateTree(root);
  afterEach();
  observer.observe(root, {
    subtree: true,
    childList: true,
    characterData: true,
    attributes: true,
    attributeFilter: ATTRIBUTES,
  });
  return observer;
}
