/**
 * Fastify's schema compilers (its `schemaController.compilersFactory`), loaded and run at the
 * first request that needs them, not at start. @fastify/ajv-compiler (ajv, ajv-formats) and
 * @fastify/fast-json-stringify-compiler (fast-json-stringify, ajv again) are ~240 CommonJS files
 * that an idle server never runs (bench/RESULTS.md, control plane); Fastify itself requires them
 * only when no compilers are given. Fastify calls a compiler synchronously, so they are loaded by
 * `require` (they are CommonJS), once, at the first validation or serialization.
 */
import { createRequire } from 'node:module';
import type AjvCompiler from '@fastify/ajv-compiler';
import type { SerializerSelector } from '@fastify/fast-json-stringify-compiler';

const require = createRequire(import.meta.url);

type SerializerFactory = ReturnType<typeof SerializerSelector>;

/**
 * Validators that take a JSON body as sent: a `null`, `false` or `["a"]` where a number or a
 * string belongs is a 400, never a 0 or "a". URL parameters and querystrings are strings on the
 * wire, so their numbers and booleans are still read from strings (and a non-number is refused).
 */
export function exactBodyValidators(): AjvCompiler.BuildCompilerFromPool {
  const fromPool = once(() => (require('@fastify/ajv-compiler') as typeof AjvCompiler)());
  return (externalSchemas, options) => {
    const compilers = once(() => {
      // Fastify passes its `ajv` option here, never JTD's.
      const ajvOptions = options?.customOptions as AjvCompiler.Options | undefined;
      return {
        coercing: fromPool()(externalSchemas, options),
        exact: fromPool()(externalSchemas, { plugins: options?.plugins, customOptions: { ...ajvOptions, coerceTypes: false } }),
      };
    });
    return compiledAtFirstUse((route) => (route.httpPart === 'body' ? compilers().exact(route) : compilers().coercing(route)));
  };
}

/** Fastify's serializers (fast-json-stringify of each route's response shapes), each compiled at its first answer. */
export function serializersAtFirstUse(): SerializerFactory {
  const factory = once(() => (require('@fastify/fast-json-stringify-compiler') as { SerializerSelector: typeof SerializerSelector }).SerializerSelector());
  return (externalSchemas, options) => {
    const compile = once(() => factory()(externalSchemas, options));
    return compiledAtFirstUse((route) => compile()(route));
  };
}

/**
 * Compiles a route's schema (a validator, a serializer) when it is first used, not at start:
 * most routes of an idle server never run, and ~60 routes' compiled validators and serializers
 * held ~10 MiB (bench/RESULTS.md). The first request of a route pays its compilation (a few ms;
 * the very first one also loads the compilers). The compiled function's `errors` (ajv's, which
 * Fastify reads after a failed check) show through.
 */
function compiledAtFirstUse<Route, Compiled extends (...args: never[]) => unknown>(compile: (route: Route) => Compiled): (route: Route) => Compiled {
  return (route) => {
    let compiled: Compiled | undefined;
    const onFirstCall = (...args: Parameters<Compiled>): ReturnType<Compiled> => (compiled ??= compile(route))(...args) as ReturnType<Compiled>;
    return Object.defineProperty(onFirstCall, 'errors', { get: () => (compiled as { errors?: unknown } | undefined)?.errors }) as unknown as Compiled;
  };
}

function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}
