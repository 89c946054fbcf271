/** Registering twice is an error unless replacing is the point; loading the library twice is not. */
import { describe, expect, it } from 'vitest';
import { MODELS, Registry, TASK_UTILS } from '../../src/index.js';
import { componentLoadErrors, registerAllModules } from '../../src/engine/register_all.js';

describe('Registry.register: one name, one entry', () => {
  it("throws on a duplicate name, as mmengine's _register_module does", () => {
    const reg = new Registry('model');
    class Head {}
    reg.register(Head, { name: 'Head' });
    expect(() => reg.register(class Other {}, { name: 'Head' })).toThrow(
      "'Head' is already registered in the model registry (pass {force: true} to replace it).",
    );
    expect(reg.get('Head')).toBe(Head);
  });

  it('force: true replaces the entry', () => {
    const reg = new Registry('model');
    class A {}
    class B {}
    reg.register(A, { name: 'X' });
    reg.register(B, { name: 'X', force: true });
    expect(reg.get('X')).toBe(B);
    expect(reg.keys()).toEqual(['X']);
  });

  it('importing src/index.ts and calling registerAllModules() twice registers each name once', async () => {
    await import('../../src/index.js');
    const first = await registerAllModules();
    // a duplicate registration would make a folder fail to load
    expect(Object.fromEntries([...componentLoadErrors].map(([f, e]) => [f, e.message]))).toEqual(
      {},
    );
    const models = MODELS.keys().length;
    const second = await registerAllModules();
    expect(second).toEqual(first);
    expect(MODELS.keys().length).toBe(models);
    expect(MODELS.has('RetinaNet') && TASK_UTILS.has('AnchorGenerator')).toBe(true);
    // the library's own components are in the registries once, under their class names
    expect(MODELS.get('RPNHead')).toBe((await import('../../src/heads/rpn_head.js')).RPNHead);
  });
});
