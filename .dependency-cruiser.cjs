/**
 * The layer table of ../shared/DESIGN.md, enforced: dependencies flow one way, no cycles, and
 * cross-folder imports go through each folder's index.ts.
 */
const layer = (from, allowed) => ({
  name: `layer-${from.replace(/[^a-z]/g, '-')}`,
  comment: `${from} may import only: ${allowed.join(', ') || 'nothing else in src'}`,
  severity: 'error',
  from: { path: `^src/${from}/` },
  to: {
    path: '^src/',
    pathNot: [`^src/${from}/`, '^src/errors\\.ts$', ...allowed.map((a) => `^src/${a}`)],
  },
});

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    layer('sip/message', []),
    layer('sip/transport', ['sip/message/']),
    layer('sip/transaction', ['sip/message/', 'sip/transport/transport\\.ts$']),
    layer('sip/dialog', ['sip/message/', 'sip/transaction/', 'sip/transport/transport\\.ts$']),
    layer('sip/ua', ['sip/message/', 'sip/transport/', 'sip/transaction/', 'sip/dialog/']),
    layer('sdp', []),
    layer('policy', ['store/protocol-store\\.ts$']),
    layer('integrity', ['store/protocol-store\\.ts$']),
    layer('store', []),
    layer('media', ['media/codec/']),
    layer('recorder', ['media/codec/', 'media/rtp/']),
    layer('b2bua', ['sip/index\\.ts$', 'sdp/', 'policy/', 'media/index\\.ts$', 'observability/', 'config/types\\.ts$']),
    layer('archive', ['integrity/', 'store/', 'observability/']),
    layer('privacy', ['integrity/', 'store/', 'observability/']),
    layer('pipeline', ['integrity/', 'store/', 'observability/', 'archive/', 'recorder/index\\.ts$']),
    layer('config', []),
    layer('observability', []),
    {
      name: 'no-cross-folder-deep-imports',
      comment: 'Outside sip/, other folders import a folder only through its index.ts.',
      severity: 'error',
      from: { path: '^src/(b2bua|cli|pipeline|archive|privacy|admin)/' },
      to: { path: '^src/sip/(?!index\\.ts$)' },
    },
    {
      name: 'no-test-imports-from-src',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|sip-tests|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^dist/' },
  },
};
