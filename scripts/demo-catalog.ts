/** The products `npm start` puts in an empty catalog on first run. */
export const DEMO_CATALOG = [
  { name: 'Espresso Beans 1 kg', description: 'Dark roast, chocolate and hazelnut notes.', price: 24.9, stock: 120 },
  { name: 'Pour-Over Kettle', description: 'Gooseneck kettle, 1 l, stainless steel.', price: 39.5, stock: 40 },
  { name: 'Ceramic Mug', description: 'Hand-glazed, 350 ml, dishwasher safe.', price: 12, stock: 300 },
  { name: 'Burr Grinder', description: 'Conical burrs, 40 grind settings.', price: 129.99, stock: 25 },
  { name: 'Paper Filters (100)', description: 'Unbleached filters for size 02 drippers.', price: 5.49, stock: 500 },
  { name: 'Milk Frother', description: 'Handheld, battery powered.', price: 17.75, stock: 80 },
  { name: 'Cold Brew Bottle', description: '1 l glass bottle with mesh filter.', price: 22, stock: 60 },
  { name: 'Barista Apron', description: 'Waxed canvas with leather straps.', price: 45, stock: 15 },
];
