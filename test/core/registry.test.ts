import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, Registry, UnknownTypeError } from '../../src/index.js';

class Backbone {
  constructor(readonly args: { depth: number }) {}
}
class Head {
  constructor(readonly args: { numClasses: number; loss?: unknown }) {}
}
class Detector {
  constructor(
    readonly args: { backbone: Backbone; head: Head | Record<string, unknown>; trainCfg?: unknown },
  ) {}
}

function makeRegistry(): Registry {
  const r = new Registry('model');
  r.register(Backbone, { schema: z.object({ depth: z.literal([18, 34, 50]) }).strict() });
  r.register(Head);
  r.register(Detector);
  return r;
}

describe('Registry', () => {
  it("builds a nested config depth first and leaves other registries' configs alone", () => {
    const r = makeRegistry();
    const d = r.build<Detector>({
      type: 'Detector',
      backbone: { type: 'Backbone', depth: 50 },
      head: { type: 'Head', numClasses: 3 },
      trainCfg: { assigner: { type: 'MaxIoUAssigner', posIouThr: 0.5 } },
    });
    expect(d).toBeInstanceOf(Detector);
    expect(d.args.backbone).toBeInstanceOf(Backbone);
    expect(d.args.backbone.args.depth).toBe(50);
    expect(d.args.head).toBeInstanceOf(Head);
    expect(d.args.trainCfg).toEqual({ assigner: { type: 'MaxIoUAssigner', posIouThr: 0.5 } });
  });

  it('keeps arguments listed as unbuilt as configs', () => {
    const r = new Registry('model');
    r.register(Head);
    r.register(Detector, { unbuilt: ['head'] });
    r.register(Backbone);
    const d = r.build<Detector>({
      type: 'Detector',
      backbone: { type: 'Backbone', depth: 18 },
      head: { type: 'Head', numClasses: 2 },
    });
    expect(d.args.head).toEqual({ type: 'Head', numClasses: 2 });
  });

  it('registers with the decorator form and factory functions', () => {
    const r = new Registry('thing');
    const decorate = r.register({ name: 'Decorated' });
    class Decorated {}
    decorate(Decorated, { kind: 'class', name: 'Decorated' });
    r.register(function makeThing(args: { n: number }) {
      return { made: args.n };
    });
    expect(r.build({ type: 'Decorated' })).toBeInstanceOf(Decorated);
    expect(r.build({ type: 'makeThing', n: 3 })).toEqual({ made: 3 });
  });

  it('refuses a duplicate name unless forced', () => {
    const r = makeRegistry();
    class Backbone2 {}
    expect(() => r.register(Backbone2, { name: 'Backbone' })).toThrow(
      /already registered in the model registry/,
    );
    r.register(Backbone2, { name: 'Backbone', force: true });
    expect(r.get('Backbone')).toBe(Backbone2);
  });

  it('resolves scoped names in child registries and falls back to the parent', () => {
    const root = makeRegistry();
    const mine = new Registry('model', { parent: root, scope: 'myproj' });
    class MyHead {}
    mine.register(MyHead);
    expect(root.get('myproj.MyHead')).toBe(MyHead);
    expect(mine.get('MyHead')).toBe(MyHead);
    expect(mine.get('Backbone')).toBe(Backbone);
    expect(root.has('MyHead')).toBe(false);
    expect(root.build({ type: 'myproj.MyHead' })).toBeInstanceOf(MyHead);
  });

  it('names the registry, the bad type and the closest names for an unknown type, nested too', () => {
    const r = makeRegistry();
    expect(() => r.build({ type: 'Backbon', depth: 50 }, { path: 'model.backbone' })).toThrow(
      "model.backbone.type: 'Backbon' is not registered in the model registry. Did you mean 'Backbone'?",
    );
    const nested = () =>
      r.build(
        {
          type: 'Detector',
          backbone: { type: 'Backbon', depth: 50 },
          head: { type: 'Head', numClasses: 1 },
        },
        { path: 'model' },
      );
    expect(nested).toThrow(UnknownTypeError);
    expect(nested).toThrow(
      "model.backbone.type: 'Backbon' is not registered in the model registry. Did you mean 'Backbone'?",
    );
  });

  it('passes *Cfg settings through unbuilt', () => {
    const r = makeRegistry();
    const d = r.build<Detector>({
      type: 'Detector',
      backbone: { type: 'Backbone', depth: 18 },
      head: { type: 'Head', numClasses: 1 },
      trainCfg: { nms: { type: 'not_a_component', iouThreshold: 0.5 } },
    });
    expect(d.args.trainCfg).toEqual({ nms: { type: 'not_a_component', iouThreshold: 0.5 } });
  });

  it('validates arguments against the schema with the full key path', () => {
    const r = makeRegistry();
    const build = () =>
      r.build(
        {
          type: 'Detector',
          backbone: { type: 'Backbone', depth: 19 },
          head: { type: 'Head', numClasses: 1 },
        },
        { path: 'model' },
      );
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(
      "model.backbone.depth: expected one of 18 | 34 | 50 (model type 'Backbone'), got 19",
    );
    expect(() =>
      r.build({ type: 'Backbone', depth: 18, deph: 3 }, { path: 'model.backbone' }),
    ).toThrow(
      "model.backbone.deph: expected a known key (model type 'Backbone'); did you mean 'depth'?, got 3",
    );
  });
});
