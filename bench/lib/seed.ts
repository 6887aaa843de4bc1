import pg from 'pg';

const ADJECTIVES = ['Compact', 'Classic', 'Modern', 'Rustic', 'Large', 'Small', 'Light', 'Heavy', 'Soft', 'Bold'];
const MATERIALS = ['Walnut', 'Oak', 'Steel', 'Linen', 'Wool', 'Glass', 'Brass', 'Cotton', 'Marble', 'Bamboo', 'Leather', 'Clay'];
const NOUNS = [
  'Desk',
  'Lamp',
  'Chair',
  'Table',
  'Plate',
  'Bowl',
  'Shelf',
  'Rug',
  'Vase',
  'Clock',
  'Sofa',
  'Towel',
  'Jar',
  'Cup',
  'Knife',
  'Spoon',
  'Pan',
  'Pot',
  'Tray',
  'Mirror',
  'Stool',
  'Bench',
  'Basket',
  'Candle',
  'Frame',
];

/** Searches a shopper might type: each matches about 1 product in 300 (adjective-free "material noun"). */
export const SEARCH_TERMS = ['walnut desk', 'linen lamp', 'brass clock', 'marble tray', 'oak stool', 'clay vase', 'wool rug', 'glass jar'];

const sqlArray = (words: string[]) => `ARRAY[${words.map((word) => `'${word}'`).join(', ')}]`;

/**
 * Grows the catalog to `upTo` products straight in product_db (one INSERT, the way an import
 * would), named "<Adjective> <Material> <Noun> <n>", one second apart in creation order, with
 * stock no benchmark can sell out; then VACUUM ANALYZE, as after any bulk load.
 */
export async function growCatalog(productDbUrl: string, upTo: number): Promise<number> {
  const client = new pg.Client({ connectionString: productDbUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM products');
    const from = Number(rows[0]!.n) + 1;
    if (from <= upTo) {
      await client.query(
        `INSERT INTO products (name, description, price_cents, stock, created_at, updated_at)
         SELECT (${sqlArray(ADJECTIVES)})[1 + n % 10] || ' ' || (${sqlArray(MATERIALS)})[1 + (n / 10) % 12] || ' ' ||
                (${sqlArray(NOUNS)})[1 + (n / 120) % 25] || ' ' || n,
                'Seeded for the benchmark: sturdy, simple, and in stock.', 100 + (n * 37) % 99900, 1000000,
                timestamptz '2026-01-01' + n * interval '1 second', timestamptz '2026-01-01' + n * interval '1 second'
         FROM generate_series($1::int, $2::int) AS n`,
        [from, upTo],
      );
    }
    await client.query('VACUUM ANALYZE products');
    return upTo;
  } finally {
    await client.end();
  }
}

/** `count` product ids spread over the catalog, and the position (for a cursor) of the product at `deepAt`. */
export async function sampleCatalog(productDbUrl: string, count: number, deepAt: number) {
  const client = new pg.Client({ connectionString: productDbUrl });
  await client.connect();
  try {
    const ids = await client.query<{ id: string }>('SELECT id FROM products ORDER BY md5(id::text) LIMIT $1', [count]);
    const deep = await client.query<{ id: string; position: string }>(
      `SELECT id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS position
       FROM products ORDER BY created_at, id OFFSET $1 LIMIT 1`,
      [deepAt - 1],
    );
    return { ids: ids.rows.map((row) => row.id), deep: { createdAt: deep.rows[0]!.position, id: deep.rows[0]!.id } };
  } finally {
    await client.end();
  }
}

export interface BenchUser {
  username: string;
  password: string;
  token: string;
}

/** Registers `count` shoppers through the gateway, a few at a time (each costs a password hash). */
export async function registerUsers(gatewayUrl: string, count: number, runId: string): Promise<BenchUser[]> {
  const users: BenchUser[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < count) {
        const i = next++;
        const user = { username: `bench_${runId}_${i}`, password: `bench-password-${runId}-${i}` };
        const response = await fetch(`${gatewayUrl}/users/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(user),
        });
        if (response.status !== 201) throw new Error(`registering ${user.username}: ${response.status} ${await response.text()}`);
        users.push({ ...user, token: ((await response.json()) as { token: string }).token });
      }
    }),
  );
  return users;
}
