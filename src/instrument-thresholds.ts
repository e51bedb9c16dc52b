// Per-instrument thresholds by name (the configuration's `instruments` section, `atc calibrate`'s output) applied to
// engines that know instruments by id. The Registry turns a name into the id its events will carry, so naming an
// instrument here registers it up front: its events, whenever they come, find their thresholds already in place.
import { ConfigError, instrumentPath, resolveInstrumentChannels, type InstrumentThresholds } from './config.js';
import { Engine, EngineError } from './engine.js';
import { ERRORS } from './abi.js';
import type { Registry } from './registry.js';

/** One instrument's resolved values: (channel, threshold) pairs, NaN = clear (config.ts resolveInstrumentChannels). */
export interface InstrumentPlan {
  name: string;
  plan: number[];
}

/** The `instruments` section as plans, in the order the section lists its instruments. */
export function planInstruments(instruments: InstrumentThresholds): InstrumentPlan[] {
  return Object.entries(instruments).map(([name, selectors]) => ({ name, plan: resolveInstrumentChannels(selectors) }));
}

/** Instruments an `instruments` section would add to a registry that holds `registry`'s names. */
export function newInstrumentNames(instruments: InstrumentThresholds, registry: Registry): string[] {
  return Object.keys(instruments).filter((name) => !registry.has(name));
}

/**
 * Register every instrument the section names (in `registry` and in `engine`) and set its thresholds. Throws
 * ConfigError when the section names more instruments than the engine's table holds. Returns the ids, by name.
 */
export function applyInstrumentThresholds(engine: Engine, registry: Registry, instruments: InstrumentThresholds, maxInstruments: number): Map<string, number> {
  const fresh = newInstrumentNames(instruments, registry);
  if (engine.instrumentCount + fresh.length > maxInstruments) {
    throw new ConfigError('instruments', `names ${fresh.length} instruments the engine has not registered, but its table holds ${maxInstruments - engine.instrumentCount} more (maxInstruments ${maxInstruments})`);
  }
  const ids = new Map<string, number>();
  for (const { name, plan } of planInstruments(instruments)) {
    const id = registry.id(name);
    try {
      engine.applyInstrumentPlan(id, plan);
    } catch (err) {
      if (err instanceof EngineError) throw new ConfigError(instrumentPath(name), `${ERRORS[err.code] ?? err.message}`);
      throw err;
    }
    ids.set(name, id);
  }
  return ids;
}
