/**
 * jsdom setup for the plugin project: jest-dom matchers plus the browser APIs jsdom lacks that
 * @grafana/ui touches while rendering (media queries, element resize observation, text encoding).
 */
import '@testing-library/jest-dom';
import { TextDecoder, TextEncoder } from 'util';

Object.assign(globalThis, { TextEncoder, TextDecoder });

if (!window.matchMedia) {
  Object.defineProperty(window, 'matchMedia', {
    writable: true,
    value: (query: string) => ({
      matches: false,
      media: query,
      onchange: null,
      addListener: () => {},
      removeListener: () => {},
      addEventListener: () => {},
      removeEventListener: () => {},
      dispatchEvent: () => false,
    }),
  });
}

class NoopResizeObserver {
  observe() {}
  unobserve() {}
  disconnect() {}
}
if (!('ResizeObserver' in window)) {
  Object.assign(window, { ResizeObserver: NoopResizeObserver });
  Object.assign(globalThis, { ResizeObserver: NoopResizeObserver });
}

// Element.scrollIntoView is called by combobox menus when the highlighted option changes.
if (!Element.prototype.scrollIntoView) {
  Element.prototype.scrollIntoView = () => {};
}

// jsdom has no canvas; combobox inputs size themselves with measureText. An approximate width is
// enough for layout code that only needs a number.
HTMLCanvasElement.prototype.getContext = function getContext() {
  return {
    font: '',
    measureText: (text: string) => ({ width: text.length * 7 }),
  } as unknown as CanvasRenderingContext2D;
} as unknown as HTMLCanvasElement['getContext'];

// Combobox menus watch visibility with IntersectionObserver, which jsdom lacks.
if (!('IntersectionObserver' in window)) {
  class NoopIntersectionObserver {
    readonly root = null;
    readonly rootMargin = '';
    readonly thresholds = [];
    observe() {}
    unobserve() {}
    disconnect() {}
    takeRecords() {
      return [];
    }
  }
  Object.assign(window, { IntersectionObserver: NoopIntersectionObserver });
  Object.assign(globalThis, { IntersectionObserver: NoopIntersectionObserver });
}

// jsdom does no layout, so every box is 0×0 and virtualised option lists (combobox menus) render
// no rows. Give elements a nominal size, as @grafana/ui's own tests do.
Object.defineProperty(Element.prototype, 'getBoundingClientRect', {
  configurable: true,
  value: () => ({ x: 0, y: 0, width: 120, height: 120, top: 0, left: 0, bottom: 120, right: 120, toJSON: () => ({}) }),
});
// The virtualiser measures its scroll container through client/offset sizes.
for (const prop of ['offsetWidth', 'offsetHeight', 'clientWidth', 'clientHeight'] as const) {
  Object.defineProperty(HTMLElement.prototype, prop, { configurable: true, get: () => 120 });
}
