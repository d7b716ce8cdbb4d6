//! The A4 page: header, the drawing in its frame, the parcel's particulars, the vertex
//! table (continued on further pages for long outlines), the footer and the watermark.

use crate::drawing::{Frame, MapTransform};
use crate::{Error, Extract, Fonts, Vertex, vertices, vn_centimetres, vn_number};
use printpdf::path::{PaintMode, WindingOrder};
use printpdf::{
    Color, IndirectFontRef, Line, Mm, PdfDocument, PdfDocumentReference, PdfLayerReference, Point, Polygon, Pt, Rgb,
    TextMatrix,
};

const PAGE_WIDTH: f64 = 210.0;
const PAGE_HEIGHT: f64 = 297.0;
const MARGIN: f64 = 15.0;
const MAP: Frame = Frame { left: MARGIN, bottom: 142.0, width: PAGE_WIDTH - 2.0 * MARGIN, height: 110.0 };
/// Vertex rows per column block on the first page and on the next ones.
const ROWS_FIRST: usize = 16;
const ROWS_NEXT: usize = 55;
const ROW_HEIGHT: f64 = 4.2;
/// Column positions (mm from the left) of each table block: point, X, Y, edge.
const COLUMNS: [f64; 4] = [0.0, 14.0, 44.0, 71.0];
const BLOCK_WIDTH: f64 = 90.0;

struct Page<'a> {
    layer: PdfLayerReference,
    regular: &'a IndirectFontRef,
    bold: &'a IndirectFontRef,
}

fn mm(v: f64) -> Mm {
    // Page positions are a few hundred millimetres: f32 is exact enough (0.01 mm).
    #[allow(clippy::cast_possible_truncation)]
    Mm(v as f32)
}

fn point(p: [f64; 2]) -> (Point, bool) {
    (Point::new(mm(p[0]), mm(p[1])), false)
}

fn grey(level: f32) -> Color {
    Color::Rgb(Rgb::new(level, level, level, None))
}

impl Page<'_> {
    fn text(&self, text: &str, size: f32, at: [f64; 2], bold: bool) {
        self.layer.use_text(text, size, mm(at[0]), mm(at[1]), if bold { self.bold } else { self.regular });
    }

    /// Text centred on `x` (widths estimated: DejaVu Sans averages ~0.55 em).
    fn centred(&self, text: &str, size: f32, x: f64, y: f64, bold: bool) {
        self.text(text, size, [x - text_width(text, size) / 2.0, y], bold);
    }

    fn line(&self, points: &[[f64; 2]], closed: bool, width: f32, color: Color) {
        self.layer.set_outline_color(color);
        self.layer.set_outline_thickness(width);
        self.layer.add_line(Line { points: points.iter().copied().map(point).collect(), is_closed: closed });
    }

    fn fill(&self, rings: &[Vec<[f64; 2]>], color: Color) {
        self.layer.set_fill_color(color);
        self.layer.add_polygon(Polygon {
            rings: rings.iter().map(|ring| ring.iter().copied().map(point).collect()).collect(),
            mode: PaintMode::Fill,
            winding_order: WindingOrder::EvenOdd,
        });
        self.layer.set_fill_color(grey(0.0));
    }
}

fn text_width(text: &str, size: f32) -> f64 {
    text.chars().count() as f64 * f64::from(size) * 0.55 * 0.3528
}

/// The extract as PDF bytes.
pub fn render(extract: &Extract, fonts: &Fonts) -> Result<Vec<u8>, Error> {
    let map = MapTransform::fitting(&extract.outline, MAP).ok_or(Error::NoOutline)?;
    let title = format!("Trích lục thửa đất số {} tờ {} — {}", extract.number, extract.sheet, extract.ward);
    let (doc, page, layer) = PdfDocument::new(title, mm(PAGE_WIDTH), mm(PAGE_HEIGHT), "trích lục");
    let regular = font(&doc, &fonts.regular)?;
    let bold = font(&doc, &fonts.bold)?;
    let first = Page { layer: doc.get_page(page).get_layer(layer), regular: &regular, bold: &bold };
    if extract.synthetic {
        watermark(&first);
    }
    header(&first, extract);
    drawing(&first, extract, &map);
    particulars(&first, extract);
    let rows = vertices(&extract.outline);
    let mut rest = table(&first, &rows, 103.0, ROWS_FIRST);
    let mut pages = 1;
    while !rest.is_empty() {
        pages += 1;
        let (page, layer) = doc.add_page(mm(PAGE_WIDTH), mm(PAGE_HEIGHT), format!("trang {pages}"));
        let next = Page { layer: doc.get_page(page).get_layer(layer), regular: &regular, bold: &bold };
        if extract.synthetic {
            watermark(&next);
        }
        next.text(
            &format!("Thửa đất số {} tờ bản đồ số {} — bảng tọa độ (tiếp theo)", extract.number, extract.sheet),
            10.0,
            [MARGIN, PAGE_HEIGHT - 20.0],
            true,
        );
        rest = table(&next, rest, PAGE_HEIGHT - 30.0, ROWS_NEXT);
        footer(&next, extract, pages);
    }
    footer(&first, extract, 1);
    doc.save_to_bytes().map_err(|e| Error::Pdf(e.to_string()))
}

fn font(doc: &PdfDocumentReference, bytes: &[u8]) -> Result<IndirectFontRef, Error> {
    doc.add_external_font(std::io::Cursor::new(bytes)).map_err(|e| Error::Font(e.to_string()))
}

fn watermark(page: &Page<'_>) {
    page.layer.set_fill_color(grey(0.85));
    page.layer.begin_text_section();
    page.layer.set_font(page.bold, 44.0);
    page.layer.set_text_matrix(TextMatrix::TranslateRotate(Pt(110.0), Pt(250.0), 45.0));
    page.layer.write_text("DỮ LIỆU TỔNG HỢP", page.bold);
    page.layer.end_text_section();
    page.layer.set_fill_color(grey(0.0));
}

fn header(page: &Page<'_>, extract: &Extract) {
    let centre = PAGE_WIDTH / 2.0;
    page.centred("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 10.0, centre, 282.0, true);
    page.centred("Độc lập - Tự do - Hạnh phúc", 9.5, centre, 277.0, false);
    page.centred("TRÍCH LỤC BẢN ĐỒ ĐỊA CHÍNH", 14.0, centre, 267.0, true);
    page.centred(
        &format!("Thửa đất số: {}    Tờ bản đồ số: {}    {}", extract.number, extract.sheet, extract.ward),
        10.0,
        centre,
        259.5,
        false,
    );
}

fn drawing(page: &Page<'_>, extract: &Extract, map: &MapTransform) {
    let f = MAP;
    page.line(
        &[
            [f.left, f.bottom],
            [f.left + f.width, f.bottom],
            [f.left + f.width, f.bottom + f.height],
            [f.left, f.bottom + f.height],
        ],
        true,
        0.8,
        grey(0.0),
    );
    for neighbour in &extract.neighbours {
        for ring in &neighbour.outline {
            for pair in ring.windows(2) {
                if let Some((a, b)) = map.clip(map.page(pair[0]), map.page(pair[1])) {
                    page.line(&[a, b], false, 0.4, grey(0.45));
                }
            }
        }
        let at = map.page(neighbour.label_at);
        if map.shows(at) {
            let label = if neighbour.sheet == extract.sheet {
                neighbour.number.to_string()
            } else {
                format!("{}(t{})", neighbour.number, neighbour.sheet)
            };
            page.layer.set_fill_color(grey(0.35));
            page.centred(&label, 7.0, at[0], at[1], false);
            page.layer.set_fill_color(grey(0.0));
        }
    }
    let rings: Vec<Vec<[f64; 2]>> =
        extract.outline.iter().map(|ring| ring.iter().map(|p| map.page(*p)).collect()).collect();
    page.fill(&rings, Color::Rgb(Rgb::new(1.0, 0.97, 0.8, None)));
    for ring in &rings {
        page.line(ring, true, 1.2, grey(0.0));
    }
    edge_lengths(page, extract, map);
    let label = map.page(extract.label_at);
    page.centred(&extract.number.to_string(), 10.0, label[0], label[1] + 2.5, true);
    page.centred(&vn_number(extract.legal_area_m2, 1), 8.0, label[0], label[1] - 1.5, false);
    page.centred(&extract.primary_use, 8.0, label[0], label[1] - 5.0, false);
    north_arrow(page);
    scale_bar(page, map);
}

/// Point numbers at the vertices and each edge's length at its middle.
fn edge_lengths(page: &Page<'_>, extract: &Extract, map: &MapTransform) {
    // The same rows as the table, so the drawing and the table print the same lengths.
    let mut rows = vertices(&extract.outline).into_iter();
    for ring in &extract.outline {
        let points = ring.split_last().map_or(ring.as_slice(), |(_, rest)| rest);
        for (i, p) in points.iter().enumerate() {
            let Some(row) = rows.next() else { return };
            let number = row.number;
            let next = points[(i + 1) % points.len()];
            let (a, b) = (map.page(*p), map.page(next));
            let label = vn_centimetres(row.edge_cm);
            // Where the edge is drawn shorter than its label, the labels would pile up: the
            // table below carries every point and edge.
            if (b[0] - a[0]).hypot(b[1] - a[1]) < text_width(&label, 6.0) {
                continue;
            }
            page.layer.set_fill_color(Color::Rgb(Rgb::new(0.7, 0.0, 0.0, None)));
            page.text(&number.to_string(), 6.5, [a[0] + 0.8, a[1] + 0.8], true);
            page.layer.set_fill_color(grey(0.0));
            let middle = [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0];
            page.centred(&label, 6.0, middle[0], middle[1] + 0.8, false);
        }
    }
}

fn north_arrow(page: &Page<'_>) {
    let (x, top) = (MAP.left + MAP.width - 10.0, MAP.bottom + MAP.height - 4.0);
    page.fill(&[vec![[x, top], [x - 2.5, top - 9.0], [x, top - 7.0], [x, top]]], grey(0.0));
    page.line(&[[x, top], [x + 2.5, top - 9.0], [x, top - 7.0]], true, 0.4, grey(0.0));
    page.centred("B", 8.0, x, top - 13.0, true);
}

fn scale_bar(page: &Page<'_>, map: &MapTransform) {
    let metres = map.bar_metres();
    let length = metres * 1000.0 / map.denominator;
    let (x, y) = (MAP.left + 5.0, MAP.bottom + 5.0);
    page.fill(&[vec![[x, y], [x + length / 2.0, y], [x + length / 2.0, y + 1.5], [x, y + 1.5]]], grey(0.0));
    page.line(&[[x, y], [x + length, y], [x + length, y + 1.5], [x, y + 1.5]], true, 0.4, grey(0.0));
    page.text("0", 7.0, [x - 0.8, y + 2.5], false);
    page.text(&format!("{} m", vn_number(metres, 0)), 7.0, [x + length - 2.0, y + 2.5], false);
    page.text(&format!("Tỷ lệ 1:{}", vn_number(map.denominator, 0)), 8.0, [x + length + 10.0, y + 0.3], true);
}

fn particulars(page: &Page<'_>, extract: &Extract) {
    let mut y = 135.0;
    let mut line = |label: &str, value: &str| {
        page.text(label, 9.0, [MARGIN, y], true);
        page.text(value, 9.0, [MARGIN + 42.0, y], false);
        y -= 4.6;
    };
    line("Diện tích:", &format!("{} m²", vn_number(extract.legal_area_m2, 1)));
    line("Mục đích sử dụng:", &extract.land_uses.join("; "));
    line("Địa chỉ:", extract.address.as_deref().unwrap_or("—"));
    line("Giấy chứng nhận:", extract.certificate.as_deref().unwrap_or("chưa cấp"));
    match &extract.holders {
        Some(holders) if !holders.is_empty() => {
            for (i, holder) in holders.iter().enumerate() {
                line(if i == 0 { "Người sử dụng đất:" } else { "" }, holder);
            }
        }
        Some(_) => line("Người sử dụng đất:", "—"),
        None => line("Người sử dụng đất:", "(chỉ trong bản cấp cho cán bộ địa chính của phường)"),
    }
    line("Mã thửa quốc gia:", &extract.national_id);
}

/// Writes up to two blocks of `per_block` rows from `top` down; returns the rows left.
fn table<'r>(page: &Page<'_>, rows: &'r [Vertex], top: f64, per_block: usize) -> &'r [Vertex] {
    page.text("Bảng tọa độ VN-2000 (kinh tuyến trục 105°, múi chiếu 3°)", 9.0, [MARGIN, top + 5.0], true);
    let mut rest = rows;
    for block in 0..2 {
        if rest.is_empty() {
            break;
        }
        let left = MARGIN + block as f64 * BLOCK_WIDTH;
        for (heading, column) in ["Điểm", "X (m)", "Y (m)", "Cạnh (m)"].iter().zip(COLUMNS) {
            page.text(heading, 8.0, [left + column, top], true);
        }
        let (now, later) = rest.split_at(rest.len().min(per_block));
        for (i, row) in now.iter().enumerate() {
            let y = top - (i + 1) as f64 * ROW_HEIGHT;
            let cells = [row.number.to_string(), vn_number(row.x, 2), vn_number(row.y, 2), vn_centimetres(row.edge_cm)];
            for (cell, column) in cells.iter().zip(COLUMNS) {
                page.text(cell, 8.0, [left + column, y], false);
            }
        }
        rest = later;
    }
    rest
}

fn footer(page: &Page<'_>, extract: &Extract, number: usize) {
    if extract.synthetic {
        page.layer.set_fill_color(Color::Rgb(Rgb::new(0.7, 0.0, 0.0, None)));
        page.text("Dữ liệu tổng hợp (synthetic): không có giá trị pháp lý.", 8.0, [MARGIN, 14.5], true);
        page.layer.set_fill_color(grey(0.0));
    }
    let perimeter_cm: i64 = vertices(&extract.outline).iter().map(|v| v.edge_cm).sum();
    page.text(
        &format!(
            "Chu vi: {} m.  Ngày trích lục: {}.  Trang {number}.  diaba — địa bạ số Cần Thơ",
            vn_centimetres(perimeter_cm),
            extract.issued_on.format("%d/%m/%Y")
        ),
        8.0,
        [MARGIN, 10.0],
        false,
    );
}
