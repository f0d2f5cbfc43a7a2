// run-s3rver.js DIR PORT - start @20minutes/s3rver (it ships no bin script) on 127.0.0.1.
// Start with `node --openssl-legacy-provider`: paged ListObjectsV2 answers 500 without it.
require('@20minutes/s3rver/lib/cli').parseAsync(['node', 's3rver', '-d', process.argv[2],
  '-a', '127.0.0.1', '-p', process.argv[3], '--silent']).catch(e => { console.error(e); process.exit(1); });
