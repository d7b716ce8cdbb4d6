// The operations centre's wall (placeholder; the page is being built).
import * as maplibregl from 'maplibre-gl';

const map = new maplibregl.Map({ container: 'map', style: '/tiles/style.json', center: [105.76, 10.03], zoom: 11 });
window.diaba = { map };
