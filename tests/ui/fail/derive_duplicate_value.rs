#[derive(promstatic::LabelValue)]
enum Class {
    #[label(rename = "ok")]
    Success,
    Ok,
}

fn main() {}
